//! Running a step's child program: secrets through the environment, stdout
//! streamed (through SHA-256) into a file or a sink, stdin fed from a file
//! (decompressed on the way when needed), stderr kept for the error.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitStatus;

use super::scheduler::StepFailure;
use crate::io::compression::Compression;
use crate::io::files::describe_io;
use crate::io::interrupt::{self, ChildGuard};
use crate::io::sys;
use crate::manifest::Text;
use crate::plan::{EnvValue, Exec};
use crate::postgres::Secrets;

/// How many lines of a failed child's stderr an error shows.
const STDERR_TAIL_LINES: usize = 20;

/// What the child's standard output is for.
pub enum Output<'a> {
    /// Thrown away (`psql` prints a line per statement).
    Discard,
    /// Copied into this writer as it comes.
    Into(&'a mut dyn Write),
}

/// Runs `exec` to the end. Non-zero exit is a [`StepFailure`] carrying the
/// command, the status and the tail of stderr.
pub fn run(exec: &Exec, secrets: &Secrets, output: Output<'_>) -> Result<(), StepFailure> {
    run_inner(exec, secrets, output, None)
}

/// [`run`] with the child's stdin fed from `input` (by a thread).
pub fn run_fed(
    exec: &Exec,
    secrets: &Secrets,
    input: Box<dyn Read + Send>,
    output: Output<'_>,
) -> Result<(), StepFailure> {
    run_inner(exec, secrets, output, Some(input))
}

fn run_inner(
    exec: &Exec,
    secrets: &Secrets,
    output: Output<'_>,
    input: Option<Box<dyn Read + Send>>,
) -> Result<(), StepFailure> {
    let mut expression = duct::cmd(exec.program.value(), exec.args.iter().map(Text::value))
        .stderr_capture()
        .unchecked()
        .before_spawn(|command| {
            sys::die_with_parent(command);
            Ok(())
        });
    for var in &exec.env {
        let value = match &var.value {
            EnvValue::Value(v) => v.clone(),
            EnvValue::SecretFrom(origin) => match secrets.get(origin) {
                Some(secret) => secret.expose().to_owned(),
                None => continue,
            },
        };
        expression = expression.env(&var.name, value);
    }
    if let Some(cwd) = &exec.cwd {
        expression = expression.dir(cwd);
    }
    let feeder = match (&exec.stdin, input) {
        (_, Some(input)) => {
            let (reader, writer) = os_pipe::pipe().map_err(|e| spawn_failure(exec, &e))?;
            expression = expression.stdin_file(reader);
            Some(feed(input, writer))
        }
        (None, None) => {
            expression = expression.stdin_null();
            None
        }
        (Some(stream), None) if stream.compression == Compression::None => {
            expression = expression.stdin_path(&stream.path);
            None
        }
        (Some(stream), None) => {
            let (reader, writer) = os_pipe::pipe().map_err(|e| spawn_failure(exec, &e))?;
            expression = expression.stdin_file(reader);
            Some(feed_decompressed(&stream.path, stream.compression, writer))
        }
    };

    // The expression holds this end's copy of the stdin pipe: it is dropped
    // once the child runs, so that a child that ends without reading its
    // input breaks the pipe instead of leaving the feeder waiting.
    let result = match output {
        Output::Discard => {
            let started = expression.stdout_null().start();
            drop(expression);
            started.and_then(|handle| {
                let _guard = ChildGuard::register(handle.pids());
                handle.wait().map(|o| (o.status, o.stderr.clone()))
            })
        }
        Output::Into(sink) => stream_stdout(expression, sink),
    };
    let feed_error = feeder.and_then(|f| f.join().ok()).and_then(Result::err);
    let (status, stderr) =
        result.map_err(
            |e| match e.get_ref().and_then(|i| i.downcast_ref::<WriteFailed>()) {
                Some(WriteFailed(text)) => StepFailure {
                    message: format!("cannot write the output of {}: {text}", program_name(exec)),
                    command: Some(secrets.redact(&exec.display())),
                    ..StepFailure::default()
                },
                None => spawn_failure(exec, &e),
            },
        )?;
    if interrupt::stop_requested() && !status.success() {
        return Err(StepFailure {
            message: format!(
                "{} was stopped by {}",
                program_name(exec),
                interrupt::signal_name().unwrap_or("a signal")
            ),
            command: Some(secrets.redact(&exec.display())),
            status: Some(describe(status)),
            ..StepFailure::default()
        });
    }
    if !status.success() {
        return Err(StepFailure {
            message: format!("{} failed ({})", program_name(exec), describe(status)),
            command: Some(secrets.redact(&exec.display())),
            status: Some(describe(status)),
            stderr_tail: Some(secrets.redact(&tail(&stderr))).filter(|t| !t.is_empty()),
            help: None,
        });
    }
    if let Some(error) = feed_error {
        return Err(StepFailure {
            message: format!("cannot read the input of {}: {error}", program_name(exec)),
            command: Some(secrets.redact(&exec.display())),
            ..StepFailure::default()
        });
    }
    Ok(())
}

fn stream_stdout(
    expression: duct::Expression,
    sink: &mut dyn Write,
) -> io::Result<(ExitStatus, Vec<u8>)> {
    let mut reader = expression.reader()?;
    drop(expression);
    let _guard = ChildGuard::register(reader.pids());
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let _ = reader.kill();
                return Err(e);
            }
        };
        if let Err(e) = sink.write_all(&buf[..n]) {
            let _ = reader.kill();
            return Err(io::Error::new(e.kind(), WriteFailed(describe_io(&e))));
        }
    }
    match reader.try_wait()? {
        Some(output) => Ok((output.status, output.stderr.clone())),
        None => Err(io::Error::other(
            "the child did not end after closing its output",
        )),
    }
}

/// Feeds `input` into a pipe from a thread.
fn feed(
    mut input: Box<dyn Read + Send>,
    mut writer: os_pipe::PipeWriter,
) -> std::thread::JoinHandle<io::Result<()>> {
    std::thread::spawn(move || {
        // Large reads: the input may be a table's file as it grows, and
        // each read of it is a wait on the dump.
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            match writer.write_all(&buf[..n]) {
                // The child stopped reading (it failed): its status tells why.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                other => other?,
            }
        }
    })
}

/// Feeds a compressed file, decompressed, into a pipe from a thread.
fn feed_decompressed(
    path: &Path,
    compression: Compression,
    mut writer: os_pipe::PipeWriter,
) -> std::thread::JoinHandle<io::Result<()>> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let mut reader = compression.decoder(std::fs::File::open(&path)?)?;
        match io::copy(&mut reader, &mut writer) {
            // The child stopped reading (it failed): its status tells why.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            other => other.map(|_| ()),
        }
    })
}

fn spawn_failure(exec: &Exec, error: &io::Error) -> StepFailure {
    let help = if error.kind() == io::ErrorKind::NotFound {
        Some(format!(
            "install `{}` (the PostgreSQL client programs), or set `bindir` in [tools]",
            program_name(exec)
        ))
    } else {
        None
    };
    StepFailure {
        message: format!("cannot run {}: {error}", program_name(exec)),
        command: Some(exec.display()),
        help,
        ..StepFailure::default()
    }
}

fn program_name(exec: &Exec) -> String {
    Path::new(exec.program.shown())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| exec.program.shown().to_owned())
}

/// A failure to write the child's output (not a failure to run it).
#[derive(Debug)]
struct WriteFailed(String);

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WriteFailed {}

/// `exit status 1`, or `killed by signal 9`.
pub fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "unknown status".to_owned(),
    }
}

fn tail(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
    lines[start..].join("\n")
}
