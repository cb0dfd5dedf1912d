//! Running a step's child program: secrets through the environment, stdout
//! streamed (through SHA-256) into a file or a sink, stdin fed from a file
//! (decompressed on the way when needed), stderr kept for the error.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::Path;
use std::process::ExitStatus;

use crate::db_url::Secret;
use crate::exec::interrupt::{self, ChildGuard};
use crate::exec::scheduler::StepFailure;
use crate::manifest::{Compression, Text};
use crate::plan::{EnvValue, Exec};

/// Secrets by origin (`source.database`, `target.database`), and the values
/// the manifest took from the environment.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    by_origin: BTreeMap<String, Secret>,
    /// `(NAME, value)` of every `${NAME}`, longest value first.
    variables: Vec<(String, Secret)>,
}

/// Values shorter than this are not hidden again in output: they would
/// hide ordinary words and numbers.
const SHORTEST_HIDDEN: usize = 4;

impl Secrets {
    pub fn insert(&mut self, origin: &str, secret: Secret) {
        self.by_origin.insert(origin.to_owned(), secret);
    }

    /// A value that came from the environment variable `name`.
    pub fn insert_variable(&mut self, name: &str, value: Secret) {
        self.variables.push((name.to_owned(), value));
        self.variables
            .sort_by_key(|(_, v)| std::cmp::Reverse(v.expose().len()));
    }

    pub fn get(&self, origin: &str) -> Option<&Secret> {
        self.by_origin.get(origin)
    }

    /// `text` with every password replaced by `***` and every value from
    /// the environment by the `${NAME}` that wrote it.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in self.by_origin.values() {
            if !secret.expose().is_empty() {
                out = out.replace(secret.expose(), "***");
            }
        }
        for (name, value) in &self.variables {
            if value.expose().len() >= SHORTEST_HIDDEN {
                out = out.replace(value.expose(), &format!("${{{name}}}"));
            }
        }
        out
    }
}

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
    let mut expression = duct::cmd(exec.program.value(), exec.args.iter().map(Text::value))
        .stderr_capture()
        .unchecked()
        .before_spawn(|command| {
            interrupt::die_with_parent(command);
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
    let feeder = match &exec.stdin {
        None => {
            expression = expression.stdin_null();
            None
        }
        Some(stream) if stream.compression == Compression::None => {
            expression = expression.stdin_path(&stream.path);
            None
        }
        Some(stream) => {
            let (reader, writer) = os_pipe::pipe().map_err(|e| spawn_failure(exec, &e))?;
            expression = expression.stdin_file(reader);
            Some(feed_decompressed(&stream.path, stream.compression, writer))
        }
    };

    let result = match output {
        Output::Discard => expression.stdout_null().start().and_then(|handle| {
            let _guard = ChildGuard::register(handle.pids());
            handle.wait().map(|o| (o.status, o.stderr.clone()))
        }),
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

/// Feeds a compressed file, decompressed, into a pipe from a thread.
fn feed_decompressed(
    path: &Path,
    compression: Compression,
    mut writer: os_pipe::PipeWriter,
) -> std::thread::JoinHandle<io::Result<()>> {
    let path = path.to_path_buf();
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path)?;
        let mut reader: Box<dyn Read> = match compression {
            Compression::None => Box::new(file),
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(file)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file)?),
        };
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

/// An I/O error with what it means for the user when the disk is full.
pub fn describe_io(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(libc::ENOSPC) | Some(libc::EDQUOT) => {
            format!("{error}: the disk is full; free some space or move `artifacts.dir`")
        }
        Some(libc::EFBIG) => format!("{error}: a file size limit was reached (ulimit -f)"),
        _ => error.to_string(),
    }
}

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
