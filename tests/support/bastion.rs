//! Databases only an SSH server can reach, for the tests of `tunnel`: a
//! network namespace of the test's own holds two PostgreSQL servers that
//! listen on its loopback only, and an SSH server that listens on the
//! namespace's end of a veth pair, the one way in from this machine. In
//! the namespace `db.internal` names its loopback; here it names nothing.
//! The servers take TLS with a certificate for `db.internal`, and the
//! password role only over TLS.
//!
//! Everything is removed when the test ends, failed or not (and what a
//! killed test process left, by the next one).

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::pg::{Cluster, PASSWORD_ROLE};
use super::ssh::SshHost;
use super::{assert_succeeded, processes_with};

/// The database host name as the bastion resolves it.
pub const DB_HOST: &str = "db.internal";
/// The source's and the target's ports on the namespace's loopback.
pub const SOURCE_PORT: u16 = 5432;
pub const TARGET_PORT: u16 = 5433;

/// What the names of this module's namespaces start with, before the
/// test process's id.
const PREFIX: &str = "replicate-";

/// The tunnels' world. Its fields are dropped in order: the servers, then
/// the namespace they run in.
pub struct BehindBastion {
    pub source: Cluster,
    pub target: Cluster,
    pub sshd: SshHost,
    /// The certificate authority that signed the servers' certificate.
    pub ca: PathBuf,
    _certificates: tempfile::TempDir,
    pub namespace: Namespace,
}

impl BehindBastion {
    pub fn start() -> Self {
        let namespace = Namespace::new();
        let certificates = tempfile::tempdir().expect("temporary folder");
        let ca = make_certificates(certificates.path());
        let tls = |data: &Path| {
            for file in ["server.crt", "server.key"] {
                fs::copy(certificates.path().join(file), data.join(file)).expect("certificate");
            }
            fs::write(
                data.join("pg_hba.conf"),
                format!(
                    "local all all trust\n\
                     hostnossl all {PASSWORD_ROLE} 127.0.0.1/32 reject\n\
                     hostssl all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n\
                     host all all 127.0.0.1/32 trust\n"
                ),
            )
            .expect("pg_hba.conf");
        };
        let (source, target) = std::thread::scope(|s| {
            let name = &namespace.name;
            let options = "-c ssl=on";
            let a = s.spawn(|| Cluster::start_in(name, SOURCE_PORT, options, tls));
            let b = s.spawn(|| Cluster::start_in(name, TARGET_PORT, options, tls));
            (
                a.join().expect("source server"),
                b.join().expect("target server"),
            )
        });
        let sshd = SshHost::start_in(&namespace.name, &namespace.inside.to_string());
        Self {
            source,
            target,
            sshd,
            ca,
            _certificates: certificates,
            namespace,
        }
    }

    /// The URL of the password role on `port`, as the bastion names the
    /// server, with TLS checked against that name; the password written
    /// in it, when one is given.
    pub fn url(&self, port: u16, password: Option<&str>) -> String {
        let password = password.map(|p| format!(":{p}")).unwrap_or_default();
        format!(
            "postgresql://{PASSWORD_ROLE}{password}@{DB_HOST}:{port}/netbox?sslmode=verify-full&sslrootcert={}",
            self.ca.display()
        )
    }

    /// The `ssh` processes running a tunnel through this bastion.
    pub fn tunnels_running(&self) -> Vec<u32> {
        self.tunnels_with("")
    }

    /// Those of them that lead to the server on `port`.
    pub fn tunnels_to(&self, port: u16) -> Vec<u32> {
        self.tunnels_with(&format!(":{port}:{DB_HOST}:{port} "))
    }

    fn tunnels_with(&self, word: &str) -> Vec<u32> {
        processes_with(&[
            "ExitOnForwardFailure=yes",
            &format!("root@{}", self.namespace.inside),
            word,
        ])
    }
}

/// A test CA and a certificate for [`DB_HOST`] signed by it, with its key,
/// in `dir`; returns the CA's certificate.
fn make_certificates(dir: &Path) -> PathBuf {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run openssl ({e}): the tunnel tests make their TLS certificates with it; install openssl")
            });
        assert_succeeded(output, &format!("openssl {}", args.join(" ")));
    };
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &[
                "req",
                "-x509",
                "-days",
                "2",
                "-subj",
                "/CN=replicate test CA",
            ][..],
            &key,
            &["-keyout", "ca.key", "-out", "ca.crt"],
        ]
        .concat(),
    );
    openssl(
        &[
            &["req", "-new", "-subj", &format!("/CN={DB_HOST}")][..],
            &key,
            &["-keyout", "server.key", "-out", "server.csr"],
        ]
        .concat(),
    );
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        "server.crt",
    ]);
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir.join("server.key"), fs::Permissions::from_mode(0o600))
        .expect("key mode");
    dir.join("ca.crt")
}

/// A network namespace joined to this one by a veth pair: this machine
/// is `outside`, the namespace `inside` (a /30 of 198.18.0.0/15, the
/// range kept for such tests). Removed when dropped.
pub struct Namespace {
    pub name: String,
    veth: String,
    pub outside: Ipv4Addr,
    pub inside: Ipv4Addr,
}

impl Namespace {
    pub fn new() -> Self {
        require_root_and_ip();
        remove_stale();
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        let name = format!("{PREFIX}{pid}-{n}");
        let veth = format!("rv{pid}n{n}");
        ip(&["netns", "add", &name]);
        // From here on, a failure removes what was made.
        let mut namespace = Self {
            name,
            veth,
            outside: Ipv4Addr::UNSPECIFIED,
            inside: Ipv4Addr::UNSPECIFIED,
        };
        ip(&[
            "link",
            "add",
            &namespace.veth,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &namespace.name,
        ]);
        // The veth's index is unique among the machine's links: its /30
        // is the namespace's own.
        let index: u32 = fs::read_to_string(format!("/sys/class/net/{}/ifindex", namespace.veth))
            .expect("the veth's index")
            .trim()
            .parse()
            .expect("a number");
        let base = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + (index % (1 << 15)) * 4;
        namespace.outside = Ipv4Addr::from(base + 1);
        namespace.inside = Ipv4Addr::from(base + 2);
        let (outside, inside) = (
            format!("{}/30", namespace.outside),
            format!("{}/30", namespace.inside),
        );
        ip(&["addr", "add", &outside, "dev", &namespace.veth]);
        ip(&["link", "set", &namespace.veth, "up"]);
        let ns = namespace.name.clone();
        ip(&["-n", &ns, "addr", "add", &inside, "dev", "eth0"]);
        ip(&["-n", &ns, "link", "set", "eth0", "up"]);
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        // `ip netns exec` puts the files of /etc/netns/NAME over /etc's.
        let etc = namespace.etc();
        fs::create_dir_all(&etc).expect("/etc/netns");
        fs::write(
            etc.join("hosts"),
            format!("127.0.0.1 localhost {DB_HOST}\n::1 localhost\n"),
        )
        .expect("the namespace's hosts file");
        namespace
    }

    fn etc(&self) -> PathBuf {
        Path::new("/etc/netns").join(&self.name)
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        remove(&self.name);
        let _ = Command::new("ip")
            .args(["link", "del", &self.veth])
            .output();
    }
}

/// Removes the namespace `name`: its processes ended, its files.
fn remove(name: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            if let Ok(pid) = pid.parse::<i32>() {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }
    let _ = Command::new("ip").args(["netns", "del", name]).output();
    let _ = fs::remove_dir_all(Path::new("/etc/netns").join(name));
}

/// Removes the namespaces left by test processes that were killed.
fn remove_stale() {
    let listed = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let in_etc = fs::read_dir("/etc/netns")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned());
    let names: Vec<String> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .chain(in_etc)
        .collect();
    for name in names {
        let pid = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new("/proc").join(pid.to_string()).exists()
        {
            remove(&name);
        }
    }
}

/// Runs `ip ARGS`, which must succeed.
fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().expect("ip runs");
    assert_succeeded(output, &format!("ip {}", args.join(" ")));
}

/// The tests of `tunnel` make a network namespace: they need root and
/// iproute2's `ip`, and fail saying so without them.
fn require_root_and_ip() {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "the tunnel tests make a network namespace, which needs root: run them as root"
    );
    let found = Command::new("ip").arg("-V").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "the tunnel tests need iproute2's `ip` (Debian: apt-get install iproute2)"
    );
}
