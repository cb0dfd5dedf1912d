//! The scripts replicate runs where a remote folder is, and running one to
//! its end for what it prints.

use std::process::{Command, Stdio};

use super::command::{Reach, script_argv};
use super::place::Place;
use crate::display::shell::shell_line;

/// Packs the folder `$1` as a tar stream on standard output: names sorted
/// as replicate's own archive sorts them, hard links as files (GNU tar).
/// The folders replicate keeps inside a target folder that is a mount
/// point are left out.
pub const PACK: &str = "cd -- \"$1\" && exec tar --sort=name --hard-dereference \
    --exclude=./.replicate-next --exclude=./.replicate-prev --exclude=./.replicate-old \
    --exclude=./.replicate-exchange -cf - .";

/// Checks that the folder `$1` exists, that the tools replicate runs there
/// are GNU's, and that it holds no socket (GNU tar would leave it out
/// without failing), then prints its files and their bytes (`12 3456`).
const MEASURE: &str = r#"[ -d "$1" ] || { echo "the folder $1 does not exist" >&2; exit 3; }
cd -- "$1" || exit 5
for tool in tar find awk; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$tool is not installed" >&2; exit 4; }
done
tar --version 2>/dev/null | head -n 1 | grep -q GNU || { echo "tar is not GNU tar (--sort=name is needed)" >&2; exit 4; }
socket=$(find . -type s -print -quit)
[ -z "$socket" ] || { echo "$socket is a socket, not a file, folder or symbolic link" >&2; exit 6; }
find . \( -path ./.replicate-next -o -path ./.replicate-prev -o -path ./.replicate-old -o -path ./.replicate-exchange \) -prune -o -type f -printf '%s\n' | awk '{ n += 1; s += $1 } END { printf "%.0f %.0f\n", n, s }'"#;

/// A script that failed where it ran, or could not be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (on {place}: {command})")]
pub struct RemoteError {
    /// `ssh://nb1`, `docker://netbox`.
    pub place: String,
    /// The command as a shell line.
    pub command: String,
    /// What went wrong: the last line the script or `ssh` printed.
    pub reason: String,
    /// The script exited 3: the folder is not there.
    pub missing: bool,
    /// The script exited 9: a move failed and putting things back failed
    /// too; the reason says where the contents are.
    pub mixed: bool,
}

/// Files and bytes below a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tree {
    pub files: u64,
    pub bytes: u64,
}

/// Runs [`MEASURE`] where `place` is: the files and bytes of a source
/// folder.
pub fn measure(reach: &Reach, place: &Place) -> Result<Tree, RemoteError> {
    let path = place.path_text();
    let out = String::from_utf8_lossy(&output(reach, place, MEASURE, &[&path])?).into_owned();
    let mut words = out.split_whitespace().map(str::parse::<u64>);
    match (words.next(), words.next()) {
        (Some(Ok(files)), Some(Ok(bytes))) => Ok(Tree { files, bytes }),
        _ => Err(RemoteError::new(
            reach,
            place,
            &[&path],
            format!("it printed {out:?}"),
        )),
    }
}

/// Runs `script` where `place` is, to its end; what it printed.
pub(super) fn output(
    reach: &Reach,
    place: &Place,
    script: &str,
    args: &[&str],
) -> Result<Vec<u8>, RemoteError> {
    let argv = script_argv(reach, place, script, args);
    let ran = Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            RemoteError::new(reach, place, args, format!("cannot run {}: {e}", argv[0]))
        })?;
    if ran.status.success() {
        return Ok(ran.stdout);
    }
    let stderr = String::from_utf8_lossy(&ran.stderr);
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no message");
    let mut error = RemoteError::new(reach, place, args, format!("{last} ({})", ran.status));
    error.missing = ran.status.code() == Some(3);
    error.mixed = ran.status.code() == Some(9);
    Err(error)
}

impl RemoteError {
    /// The error of a script run with `args`; the command shown with the
    /// script's own text left out (replicate's, shown by `plan --verbose`).
    pub fn new(reach: &Reach, place: &Place, args: &[&str], reason: String) -> Self {
        let argv = script_argv(reach, place, "SCRIPT", args);
        RemoteError {
            place: place
                .remote_name()
                .unwrap_or_else(|| "this machine".to_owned()),
            command: shell_line(argv.iter().map(String::as_str)),
            reason,
            missing: false,
            mixed: false,
        }
    }
}
