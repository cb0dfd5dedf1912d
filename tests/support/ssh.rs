//! A real OpenSSH server for the tests of `ssh://` folders: `sshd` on a
//! free loopback port with a host key and a client key made for the test,
//! and an OpenSSH client configuration (`[tools] ssh_config`) that trusts
//! that host key and offers that client key, nothing of the user's own.

use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SshHost {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    /// The address it listens on.
    pub address: String,
}

/// `sshd` as Debian's openssh-server installs it.
fn sshd() -> PathBuf {
    ["/usr/sbin/sshd", "/usr/bin/sshd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| {
            panic!(
                "no OpenSSH server (sshd) on this machine: these tests run a real one; \
                 install openssh-server (`bash scripts/setup test` does)"
            )
        })
}

fn keygen(path: &Path) {
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen runs");
    assert!(made.success(), "ssh-keygen made no key");
}

impl SshHost {
    /// Starts `sshd` and waits until a command runs through it.
    pub fn start() -> Self {
        Self::start_at(None, "127.0.0.1", super::free_port())
    }

    /// [`SshHost::start`] in the network namespace `netns`, on port 22 of
    /// `address`.
    pub fn start_in(netns: &str, address: &str) -> Self {
        Self::start_at(Some(netns), address, 22)
    }

    fn start_at(netns: Option<&str>, address: &str, port: u16) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        fs::write(
            d.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress {address}\nHostKey {host}\n\
                 AuthorizedKeysFile {keys}\nPidFile {pid}\nStrictModes no\nUsePAM no\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nAllowTcpForwarding yes\n\
                 ForceCommand {logged}\n",
                host = d.join("host_key").display(),
                keys = d.join("authorized_keys").display(),
                pid = d.join("sshd.pid").display(),
                logged = d.join("logged").display(),
            ),
        )
        .unwrap();
        // Every command the host runs is written down, then run as sshd
        // would have run it.
        fs::write(
            d.join("logged"),
            format!(
                "#!/bin/sh\nprintf '%s\\n---\\n' \"$SSH_ORIGINAL_COMMAND\" >> {log}\n\
                 case \"$SSH_ORIGINAL_COMMAND\" in *'tar -x'*)\n\
                 [ -e {refuse} ] && {{ echo 'unpacking refused by the test' >&2; exit 1; }};;\n\
                 esac\n\
                 exec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"\n",
                log = d.join("commands.log").display(),
                refuse = d.join("refuse-unpacking").display()
            ),
        )
        .unwrap();
        let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
        fs::set_permissions(d.join("logged"), executable).unwrap();
        let host_key = fs::read_to_string(d.join("host_key.pub")).unwrap();
        fs::write(
            d.join("known_hosts"),
            // ssh looks a host on port 22 up by its bare name.
            match port {
                22 => format!("{address} {host_key}"),
                _ => format!("[{address}]:{port} {host_key}"),
            },
        )
        .unwrap();
        fs::write(
            d.join("ssh_config"),
            format!(
                "Host *\n  IdentityFile {key}\n  IdentitiesOnly yes\n  IdentityAgent none\n  \
                 UserKnownHostsFile {known}\n  StrictHostKeyChecking yes\n  LogLevel ERROR\n",
                key = d.join("client_key").display(),
                known = d.join("known_hosts").display(),
            ),
        )
        .unwrap();
        // sshd refuses to start without its privilege separation folder.
        fs::create_dir_all("/run/sshd").unwrap();
        let child = super::in_netns(netns, &[sshd()])
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let address = address.to_owned();
        let host = Self {
            child,
            dir,
            port,
            address,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect((host.address.as_str(), port)).is_err() {
            assert!(Instant::now() < deadline, "sshd did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        let ran = host.ssh("true");
        assert!(
            ran.status.success(),
            "a command through the test's sshd failed: {}",
            String::from_utf8_lossy(&ran.stderr)
        );
        host
    }

    /// The client configuration replicate is given (`[tools] ssh_config`).
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// From now on, the host fails every command that unpacks, before
    /// reading any of its input.
    pub fn refuse_unpacking(&self) {
        fs::write(self.dir.path().join("refuse-unpacking"), "").unwrap();
    }

    /// Every command the host ran, in order.
    pub fn commands(&self) -> String {
        fs::read_to_string(self.dir.path().join("commands.log")).unwrap_or_default()
    }

    /// `ssh://root@ADDRESS:PORT/path`.
    pub fn url(&self, path: &Path) -> String {
        format!("{}{}", self.login(), path.display())
    }

    /// `ssh://root@ADDRESS:PORT`: the host as a tunnel names it.
    pub fn login(&self) -> String {
        format!("ssh://root@{}:{}", self.address, self.port)
    }

    /// A copy of the client configuration, written in `dir`, that offers
    /// a key the host does not know.
    pub fn config_with_unknown_key(&self, dir: &Path) -> PathBuf {
        let other = dir.join("other_key");
        keygen(&other);
        let config: Vec<String> = fs::read_to_string(self.config())
            .unwrap()
            .lines()
            .map(|l| match l.trim_start().starts_with("IdentityFile") {
                true => format!("  IdentityFile {}", other.display()),
                false => l.to_owned(),
            })
            .collect();
        let changed = dir.join("ssh_config");
        fs::write(&changed, config.join("\n")).unwrap();
        changed
    }

    /// Runs `command` on the host through the test's client configuration.
    pub fn ssh(&self, command: &str) -> std::process::Output {
        Command::new("ssh")
            .arg("-F")
            .arg(self.config())
            .args(["-o", "BatchMode=yes", "-p", &self.port.to_string()])
            .arg(format!("root@{}", self.address))
            .arg(command)
            .stdin(Stdio::null())
            .output()
            .expect("ssh runs")
    }
}

impl Drop for SshHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
