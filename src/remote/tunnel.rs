//! A tunnel held open for one run: the system's OpenSSH client (`ssh -N
//! -L`) forwarding a port of this machine's loopback to a database's host
//! and port as the bastion reaches them. It counts as open once the port
//! takes connections; dropping the guard stops `ssh` (and whatever it
//! started, a `ProxyJump` for one), and `ssh` also dies with replicate.

use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::bastion::Bastion;
use super::command::{Reach, ssh_argv};
use super::place::authority;
use crate::display::shell::shell_line;
use crate::io::{interrupt, sys};

/// The tunnel's own options: fail when the port cannot be forwarded, and
/// never share a connection or leave one behind (a multiplexing master the
/// user's configuration asks for would outlive the run).
const TUNNEL_OPTIONS: [&str; 3] = [
    "ExitOnForwardFailure=yes",
    "ControlMaster=no",
    "ControlPath=none",
];

/// How long a tunnel may take to open: ssh's own 15 seconds to connect,
/// then the authentication.
const OPENING: Duration = Duration::from_secs(45);

/// How often a tunnel that is opening is looked at.
const LOOK_EVERY: Duration = Duration::from_millis(25);

/// How long a stopped `ssh` is given to end before it is killed.
const ENDING: Duration = Duration::from_secs(2);

/// Ports taken by another program between replicate's choice and ssh's
/// bind: tried again with another port this many times.
const ATTEMPTS: usize = 3;

/// How many loopback addresses are tried for the database's own port.
const ADDRESSES: u32 = 8;

/// How many of ssh's last lines are kept for errors.
const KEPT_LINES: usize = 20;

/// Where a tunnel leads: a host and port as the bastion names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    pub host: String,
    pub port: u16,
}

/// A tunnel that could not be opened: the bastion, the command and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (through {bastion}: {command})")]
pub struct TunnelError {
    /// `ssh://user@bastion:port`.
    pub bastion: String,
    /// The `ssh` command as a shell line.
    pub command: String,
    /// The last line `ssh` printed and its exit status, or what stopped
    /// the wait.
    pub reason: String,
}

/// What `ssh` printed on its standard error, and whether it ended.
#[derive(Debug, Default)]
struct Said {
    lines: Vec<String>,
    ended: bool,
}

/// A running `ssh -N -L`: stopped when dropped.
#[derive(Debug)]
pub struct Tunnel {
    child: Child,
    local: SocketAddr,
    reach: Reach,
    bastion: Bastion,
    to: Forward,
    argv: Vec<String>,
    said: Arc<Mutex<Said>>,
}

impl Tunnel {
    /// Opens a tunnel through `bastion` to `to`, and waits until it is
    /// open (see [`Tunnel::start`] and [`Tunnel::wait_open`]).
    pub fn open(reach: &Reach, bastion: &Bastion, to: &Forward) -> Result<Self, TunnelError> {
        Self::start(reach, bastion, to)?.wait_open()
    }

    /// Starts `ssh` forwarding a loopback port ([`local_end`]) to `to`
    /// through `bastion`, in a process group of its own (a Ctrl-C on the
    /// terminal stops replicate, which then ends the tunnel once nothing
    /// needs it). `ssh` dies with the thread that starts it: start it on
    /// the one that runs the command, not on a passing one.
    pub fn start(reach: &Reach, bastion: &Bastion, to: &Forward) -> Result<Self, TunnelError> {
        let local = local_end(to.port).map_err(|e| TunnelError {
            bastion: bastion.to_string(),
            command: "ssh".to_owned(),
            reason: format!("no free port on this machine's loopback: {e}"),
        })?;
        let argv = tunnel_argv(reach, bastion, local, to);
        let mut command = Command::new(&argv[0]);
        command
            .args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        sys::die_with_parent(&mut command);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(|e| TunnelError {
            bastion: bastion.to_string(),
            command: shell_line(argv.iter().map(String::as_str)),
            reason: format!("cannot run ssh: {e}"),
        })?;
        let said = Arc::new(Mutex::new(Said::default()));
        if let Some(stderr) = child.stderr.take() {
            keep_lines(stderr, Arc::clone(&said));
        }
        Ok(Self {
            child,
            local,
            reach: reach.clone(),
            bastion: bastion.clone(),
            to: to.clone(),
            argv,
            said,
        })
    }

    /// Waits until the forwarded port takes connections (`ssh` listens
    /// on it only once the bastion has let it in). `ssh` ending first, a
    /// stop (Ctrl-C, SIGTERM) or [`OPENING`] passing is an error naming
    /// the bastion and the command. A port another program took
    /// meanwhile is replaced by another.
    pub fn wait_open(mut self) -> Result<Self, TunnelError> {
        let mut attempt = 1;
        loop {
            match self.wait_once() {
                Ok(()) => return Ok(self),
                Err(_) if attempt < ATTEMPTS && self.port_was_taken() => {
                    attempt += 1;
                    let again = Self::start(&self.reach, &self.bastion, &self.to)?;
                    self = again;
                }
                Err(error) => return Err(error),
            }
        }
    }

    fn wait_once(&mut self) -> Result<(), TunnelError> {
        let deadline = Instant::now() + OPENING;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    let last = self.last_words().unwrap_or_else(|| "no message".to_owned());
                    return Err(self.error(format!("{last} (ssh ended: {status})")));
                }
                Ok(None) => {}
                Err(e) => return Err(self.error(format!("cannot watch ssh: {e}"))),
            }
            if TcpStream::connect_timeout(&self.local, Duration::from_millis(500)).is_ok() {
                return Ok(());
            }
            if interrupt::stop_requested() {
                return Err(self.error("stopped before it was open".to_owned()));
            }
            if Instant::now() >= deadline {
                return Err(self.error(format!("it was not open after {} s", OPENING.as_secs())));
            }
            std::thread::sleep(LOOK_EVERY);
        }
    }

    /// The loopback address and port that lead to the database (its own
    /// port, unless that was taken).
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    /// The bastion the tunnel goes through.
    pub fn bastion(&self) -> &Bastion {
        &self.bastion
    }

    /// What `ssh` last printed of a connection the bastion could not
    /// make to the database (`channel 2: open failed: connect failed:
    /// Connection refused`), looked for during a moment: ssh may print it
    /// just after it closed the connection libpq saw fail.
    pub fn refused(&self) -> Option<String> {
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            let found = self
                .said
                .lock()
                .lines
                .iter()
                .rev()
                .find(|l| l.contains("open failed"))
                .cloned();
            if found.is_some() || Instant::now() >= deadline {
                return found;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether `ssh` has ended (its standard error closed) before it was
    /// stopped: the tunnel is gone.
    pub fn ended(&self) -> bool {
        self.said.lock().ended
    }

    /// Whether `ssh` ended because its port was taken by then.
    fn port_was_taken(&self) -> bool {
        self.said
            .lock()
            .lines
            .iter()
            .any(|l| l.contains("Address already in use"))
    }

    /// The last line `ssh` printed, once it ended (its standard error
    /// read to the end, for a moment at most).
    pub fn last_words(&self) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(1);
        while !self.said.lock().ended && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.said
            .lock()
            .lines
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .cloned()
    }

    fn error(&self, reason: String) -> TunnelError {
        TunnelError {
            bastion: self.bastion.to_string(),
            command: shell_line(self.argv.iter().map(String::as_str)),
            reason,
        }
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        sys::terminate_group(self.child.id());
        let deadline = Instant::now() + ENDING;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where the tunnel's end listens: the database's own port on an address
/// of 127.0.0.0/8 picked at random, so that what a password file says of
/// the database's host and port still holds for the URL sent there; or,
/// when that port is taken on every address tried (a server listening on
/// all of them), a free port of 127.0.0.1.
fn local_end(port: u16) -> std::io::Result<SocketAddr> {
    for attempt in 0..ADDRESSES {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(attempt);
        let [a, b, c, ..] = hasher.finish().to_le_bytes();
        // 127.1.1.1 to 127.254.254.254: never 127.0.0.1, often taken.
        let address = Ipv4Addr::new(127, 1 + a % 254, 1 + b % 254, 1 + c % 254);
        if TcpListener::bind((address, port)).is_ok() {
            return Ok(SocketAddr::from((address, port)));
        }
    }
    let free = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?;
    Ok(free)
}

/// `ssh` with replicate's options and the tunnel's, forwarding `local` to
/// `to` through `bastion` with no remote command.
fn tunnel_argv(reach: &Reach, bastion: &Bastion, local: SocketAddr, to: &Forward) -> Vec<String> {
    let mut argv = ssh_argv(reach, bastion.port);
    argv.push("-N".to_owned());
    for option in TUNNEL_OPTIONS {
        argv.extend(["-o".to_owned(), option.to_owned()]);
    }
    // `host:port` as a URL writes it (an IPv6 address in brackets).
    let to = authority(None, &to.host, Some(to.port));
    argv.extend([
        "-L".to_owned(),
        format!("{}:{}:{to}", local.ip(), local.port()),
        "--".to_owned(),
        bastion.destination(),
    ]);
    argv
}

/// Keeps the last lines of `stream` in `said`, from a thread, until it
/// ends.
fn keep_lines(stream: impl Read + Send + 'static, said: Arc<Mutex<Said>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            let mut said = said.lock();
            said.lines.push(line);
            if said.lines.len() > KEPT_LINES {
                said.lines.remove(0);
            }
        }
        said.lock().ended = true;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tunnel_forwards_the_loopback_to_the_host_as_the_bastion_names_it() {
        let reach = Reach {
            ssh_config: Some("/etc/replicate/ssh_config".into()),
        };
        let bastion = Bastion::parse("ssh://ops@jump:2222").unwrap();
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 40000));
        let argv = tunnel_argv(
            &reach,
            &bastion,
            local,
            &Forward {
                host: "db.internal".into(),
                port: 5432,
            },
        );
        let line = argv.join(" ");
        assert!(argv.starts_with(&["ssh".to_owned()]), "{line}");
        for part in [
            "-o BatchMode=yes",
            "-F /etc/replicate/ssh_config",
            "-p 2222",
            "-N -o ExitOnForwardFailure=yes -o ControlMaster=no -o ControlPath=none",
        ] {
            assert!(line.contains(part), "{part} missing from {line}");
        }
        assert!(
            line.ends_with("-L 127.0.0.1:40000:db.internal:5432 -- ops@jump"),
            "{line}"
        );
        let v6 = tunnel_argv(
            &Reach::default(),
            &bastion,
            local,
            &Forward {
                host: "fd00::5".into(),
                port: 5433,
            },
        );
        assert!(v6.contains(&"127.0.0.1:40000:[fd00::5]:5433".to_owned()));
    }

    #[test]
    fn the_end_keeps_the_database_port_unless_every_address_has_it_taken() {
        let port = |l: TcpListener| l.local_addr().unwrap().port();
        let free = port(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap());
        let end = local_end(free).unwrap();
        assert_eq!(end.port(), free);
        assert_ne!(end.ip(), Ipv4Addr::LOCALHOST);
        // A server on every address of the port.
        let everywhere = TcpListener::bind((Ipv4Addr::UNSPECIFIED, 0)).unwrap();
        let taken = everywhere.local_addr().unwrap().port();
        let end = local_end(taken).unwrap();
        assert_eq!(end.ip(), Ipv4Addr::LOCALHOST);
        assert_ne!(end.port(), taken);
    }

    #[test]
    fn a_tunnel_whose_ssh_fails_names_the_bastion_the_command_and_the_reason() {
        // A configuration that names a program that is not ssh's server:
        // ssh itself fails at once, before any network is touched.
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("ssh_config");
        std::fs::write(&config, "Host *\n  ProxyCommand false\n").unwrap();
        let reach = Reach {
            ssh_config: Some(config),
        };
        let bastion = Bastion::parse("ssh://ops@jump.invalid").unwrap();
        let to = Forward {
            host: "db.internal".into(),
            port: 5432,
        };
        let error = Tunnel::open(&reach, &bastion, &to).unwrap_err();
        assert_eq!(error.bastion, "ssh://ops@jump.invalid");
        assert!(error.command.starts_with("ssh -o BatchMode=yes"), "{error}");
        assert!(error.command.contains("ops@jump.invalid"), "{error}");
        assert!(error.reason.contains("ssh ended"), "{error}");
    }
}
