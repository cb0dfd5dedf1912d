//! The command that runs a shell script where a folder is. The script is
//! replicate's own; every value (a path, a name) is an argument of it
//! (`$1`, `$2`...), never part of its text. Over SSH the remote login
//! shell reads the command line, so each word is quoted for it; `docker
//! exec` takes the words as they are.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::place::Place;
use crate::display::shell::shell_word;

/// How remote places are reached: `ssh` (in batch mode, so that a missing
/// key or an unknown host fails at once instead of asking) with the
/// manifest's OpenSSH configuration file if it names one, and `docker`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Reach {
    /// `[tools] ssh_config`: given to `ssh -F`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_config: Option<PathBuf>,
}

/// Batch mode: a refused key or an unknown host fails instead of asking. A
/// host that does not answer fails in 15 seconds, and a connection that
/// goes silent, within a minute.
const SSH_OPTIONS: [&str; 4] = [
    "BatchMode=yes",
    "ConnectTimeout=15",
    "ServerAliveInterval=15",
    "ServerAliveCountMax=4",
];

/// The argv that runs `script` with `sh` where `place` is, `args` as its
/// positional parameters.
pub fn script_argv(reach: &Reach, place: &Place, script: &str, args: &[&str]) -> Vec<String> {
    let sh: Vec<String> = ["sh", "-c", script, "sh"]
        .into_iter()
        .chain(args.iter().copied())
        .map(str::to_owned)
        .collect();
    program_argv(reach, place, sh)
}

/// The argv that runs the program `words` where `place` is: as it is
/// here, through `ssh` as one line quoted for the remote shell, through
/// `docker exec` word for word.
pub fn program_argv(reach: &Reach, place: &Place, words: Vec<String>) -> Vec<String> {
    match place {
        Place::Local(_) => words,
        Place::Ssh(ssh) => {
            let mut argv = ssh_argv(reach, ssh.port);
            argv.extend(["--".to_owned(), ssh.destination()]);
            // One word for the remote shell, every part quoted for it.
            let line: Vec<String> = words.iter().map(|w| quoted(w)).collect();
            argv.push(line.join(" "));
            argv
        }
        Place::Docker(docker) => {
            let mut argv = vec![
                "docker".to_owned(),
                "exec".into(),
                "-i".into(),
                "--".into(),
                docker.container.clone(),
            ];
            argv.extend(words);
            argv
        }
    }
}

/// `ssh` with replicate's options, the manifest's configuration file and
/// the host's port; more options, then `--` and the destination follow.
pub(super) fn ssh_argv(reach: &Reach, port: Option<u16>) -> Vec<String> {
    let mut argv: Vec<String> = vec!["ssh".to_owned()];
    for option in SSH_OPTIONS {
        argv.extend(["-o".to_owned(), option.to_owned()]);
    }
    if let Some(config) = &reach.ssh_config {
        argv.extend(["-F".to_owned(), config.display().to_string()]);
    }
    if let Some(port) = port {
        argv.extend(["-p".to_owned(), port.to_string()]);
    }
    argv
}

/// A word as a POSIX shell reads it back: always in single quotes when it
/// holds anything but plain characters.
fn quoted(word: &str) -> String {
    shell_word(word)
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use super::*;

    #[test]
    fn ssh_gets_one_quoted_line_and_docker_the_words() {
        let reach = Reach {
            ssh_config: Some("/etc/replicate/ssh_config".into()),
        };
        let place = Place::parse("ssh://nb@nb1:2222/srv/m", Path::new("/")).unwrap();
        let options = SSH_OPTIONS.iter().flat_map(|o| ["-o", o]);
        let expected: Vec<&str> = ["ssh"]
            .into_iter()
            .chain(options)
            .chain([
                "-F",
                "/etc/replicate/ssh_config",
                "-p",
                "2222",
                "--",
                "nb@nb1",
            ])
            .chain(["sh -c 'cd -- \"$1\"' sh '/srv/a b'"])
            .collect();
        assert_eq!(
            script_argv(&reach, &place, "cd -- \"$1\"", &["/srv/a b"]),
            expected
        );
        let place = Place::parse("docker://netbox/srv/m", Path::new("/")).unwrap();
        assert_eq!(
            script_argv(&reach, &place, "ls", &["$(x)"]),
            [
                "docker", "exec", "-i", "--", "netbox", "sh", "-c", "ls", "sh", "$(x)"
            ]
        );
    }

    #[test]
    fn hostile_values_reach_the_script_as_data() {
        // The remote side's shell reading the line is `sh -c LINE` here.
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let hostile = format!(
            "a b'\"; touch {m}; `touch {m}` $(touch {m})\nx",
            m = marker.display()
        );
        let place = Place::parse("ssh://h/x", Path::new("/")).unwrap();
        let argv = script_argv(&Reach::default(), &place, "printf %s \"$1\"", &[&hostile]);
        let line = argv.last().unwrap();
        let out = Command::new("sh").args(["-c", line]).output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap(), hostile);
        assert!(!marker.exists(), "a command in the value ran");
    }
}
