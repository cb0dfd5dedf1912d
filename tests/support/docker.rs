//! A real Docker engine for the tests of `docker://` folders: a container
//! of an image the tests build themselves (no registry is reachable), from
//! this machine's own programs: a POSIX shell, GNU tar, find, awk and the
//! libraries they load; a folder of the test mounted in it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The tests' image.
const IMAGE: &str = "replicate-test-tools:5";

/// What the image holds: what replicate's scripts run in a container, and
/// `sleep` to keep it up.
const PROGRAMS: &[&str] = &[
    "sh",
    "tar",
    "find",
    "awk",
    "head",
    "grep",
    "sleep",
    "mv",
    "rm",
    "mkdir",
    "readlink",
    "chmod",
    "chown",
    "id",
    "df",
    "sha256sum",
    "xargs",
    "cat",
    "stat",
    "rmdir",
    "mountpoint",
];

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run docker ({e}): these tests use a real Docker engine; \
                 `bash scripts/setup test` installs and starts one"
            )
        })
}

#[track_caller]
fn succeeded(output: Output, what: &str) -> Output {
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The image, built once: a root holding each program and the libraries
/// `ldd` names for it, at the paths they have here.
fn image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        succeeded(docker(&["info"]), "docker info (is dockerd running?)");
        if docker(&["image", "inspect", IMAGE]).status.success() {
            return;
        }
        let root = tempfile::tempdir().expect("temporary folder");
        let r = root.path();
        fs::create_dir_all(r.join("usr/bin")).unwrap();
        fs::create_dir_all(r.join("usr/lib64")).unwrap();
        fs::create_dir_all(r.join("usr/lib")).unwrap();
        fs::create_dir_all(r.join("tmp")).unwrap();
        for (link, to) in [
            ("bin", "usr/bin"),
            ("lib", "usr/lib"),
            ("lib64", "usr/lib64"),
        ] {
            std::os::unix::fs::symlink(to, r.join(link)).unwrap();
        }
        for program in PROGRAMS {
            let path = which(program);
            fs::copy(&path, r.join("usr/bin").join(program)).unwrap();
            for library in libraries(&path) {
                let into = r.join(library.strip_prefix("/").unwrap());
                fs::create_dir_all(into.parent().unwrap()).unwrap();
                fs::copy(&library, &into).unwrap();
            }
        }
        let mut tar = Command::new("tar")
            .arg("-C")
            .arg(r)
            .args(["-cf", "-", "."])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let imported = Command::new("docker")
            .args(["import", "-", IMAGE])
            .stdin(tar.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(
            tar.wait().unwrap().success(),
            "tar of the image's root failed"
        );
        succeeded(imported, "docker import");
    });
    IMAGE
}

fn which(program: &str) -> PathBuf {
    let out = succeeded(
        Command::new("sh")
            .args(["-c", &format!("command -v {program}")])
            .output()
            .unwrap(),
        program,
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The shared libraries `ldd` lists for `program`, and its loader.
fn libraries(program: &Path) -> Vec<PathBuf> {
    let out = succeeded(Command::new("ldd").arg(program).output().unwrap(), "ldd");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| {
            let path = match line.split_once("=>") {
                Some((_, right)) => right.split_whitespace().next()?,
                None => line.split_whitespace().next()?,
            };
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// A running container, removed when dropped.
pub struct Container {
    pub name: String,
}

impl Container {
    /// Starts a container with `folder` mounted at `inside`.
    pub fn start(folder: &Path, inside: &str) -> Self {
        Self::with_mounts(&[(folder, inside)])
    }

    /// Starts a container with each folder mounted where it says, as
    /// Docker mounts volumes.
    pub fn with_mounts(mounts: &[(&Path, &str)]) -> Self {
        let image = image();
        let name = format!(
            "replicate-test-{}-{}",
            std::process::id(),
            super::free_port()
        );
        let mut args = vec!["run".to_owned(), "-d".into(), "--name".into(), name.clone()];
        for (folder, inside) in mounts {
            fs::create_dir_all(folder).unwrap();
            args.push("--mount".into());
            args.push(format!(
                "type=bind,source={},target={inside}",
                folder.display()
            ));
        }
        args.extend([image.to_owned(), "sleep".into(), "3600".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        succeeded(docker(&args), "docker run");
        Self { name }
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.name]);
    }
}
