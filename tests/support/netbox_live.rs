//! A real NetBox for the tests: the `netbox` package from PyPI, in the
//! virtual environment `scripts/netbox-venv` makes (and `.ci/run` runs),
//! laid out as a package install (a root folder holding `conf/`, `media/`,
//! `scripts/`, `reports/` and `venv`) or as a classic checkout (`netbox/`
//! with `manage.py` and `netbox/configuration.py`, `venv` beside it, made
//! from the same package's files), connected to a test cluster's database
//! and to a Redis server of the test's own, served by gunicorn.

use super::free_port;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::assert_succeeded;

/// The release the tests install.
pub const VERSION: &str = "4.7.3";
/// The database role NetBox connects as, on both sides.
pub const ROLE: &str = "netbox";
pub const ROLE_PASSWORD: &str = "nb-role-pass-5521";
/// Both sides' peppers: a v2 token of the source works on the target.
const PEPPER: &str = "pepper-for-the-tests-0123456789-0123456789-0123456789";

/// The virtual environment holding NetBox, or a failure saying how to make it.
pub fn venv() -> PathBuf {
    let venv = std::env::var_os("REPLICATE_NETBOX_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache")
                });
            cache.join(format!("replicate/netbox-{VERSION}"))
        });
    assert!(
        venv.join(".replicate-complete").is_file(),
        "NetBox {VERSION} is not installed in {}: these tests run a real NetBox; \
         run `bash scripts/netbox-venv` first (.ci/run does; it needs Python 3.12 or later)",
        venv.display()
    );
    venv
}

/// A Redis server on a free port, stopped when dropped.
pub struct Redis {
    child: Child,
    pub port: u16,
}

impl Redis {
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server: {e}. These tests run a real NetBox, which \
                     needs Redis: `apt-get install redis-server` (.ci/run does)"
                )
            });
        let redis = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        redis
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The apps of NetBox's project besides `netbox` itself.
const APPS: [&str; 12] = [
    "account",
    "circuits",
    "core",
    "dcim",
    "extras",
    "ipam",
    "tenancy",
    "users",
    "utilities",
    "virtualization",
    "vpn",
    "wireless",
];

/// A NetBox install and, once served, its web server.
pub struct NetBox {
    pub root: PathBuf,
    /// The classic checkout's project folder (`root/netbox`, holding
    /// `manage.py`); `None` for a package install.
    project: Option<PathBuf>,
    venv: PathBuf,
    server: Option<Child>,
    pub http_port: u16,
}

impl NetBox {
    /// Lays out an install in `root` for the database `db` of the server on
    /// `pg_port` (as [`ROLE`]), caching in Redis database `redis_db` (and
    /// queueing in the next one).
    pub fn install(root: &Path, pg_port: u16, db: &str, redis: &Redis, redis_db: u8) -> Self {
        let venv = venv();
        for folder in ["conf", "media", "scripts", "reports"] {
            std::fs::create_dir_all(root.join(folder)).expect("NetBox folder");
        }
        std::os::unix::fs::symlink(&venv, root.join("venv")).expect("venv link");
        std::fs::write(
            root.join("conf/configuration.py"),
            configuration(pg_port, db, redis, redis_db),
        )
        .expect("configuration");
        Self {
            root: root.to_path_buf(),
            project: None,
            venv,
            server: None,
            http_port: free_port(),
        }
    }

    /// The same as a classic checkout in `root`: the project folder
    /// `root/netbox` holds `manage.py`, each app (linked to the package's),
    /// the package's data (templates, static files, `release.yaml`) where
    /// a checkout has it, and `netbox/configuration.py`; `venv` beside it.
    /// NetBox finds no bundled data beside its settings and runs as a
    /// checkout.
    pub fn install_classic(
        root: &Path,
        pg_port: u16,
        db: &str,
        redis: &Redis,
        redis_db: u8,
    ) -> Self {
        use std::os::unix::fs::symlink;
        let venv = venv();
        let site = std::fs::read_dir(venv.join("lib"))
            .expect("the venv's lib folder")
            .flatten()
            .map(|e| e.path().join("site-packages"))
            .find(|p| p.join("netbox/settings.py").is_file())
            .expect("NetBox in the venv's site-packages");
        let project = root.join("netbox");
        let package = project.join("netbox");
        std::fs::create_dir_all(&package).expect("project folder");
        for folder in ["media", "scripts", "reports"] {
            std::fs::create_dir_all(project.join(folder)).expect("NetBox folder");
        }
        symlink(&venv, root.join("venv")).expect("venv link");
        for app in APPS {
            symlink(site.join(app), project.join(app)).expect("app link");
        }
        let data = site.join("netbox/_data");
        for item in [
            "templates",
            "project-static",
            "translations",
            "release.yaml",
        ] {
            symlink(data.join(item), project.join(item)).expect("data link");
        }
        for entry in std::fs::read_dir(site.join("netbox"))
            .expect("netbox package")
            .flatten()
        {
            let name = entry.file_name();
            if name != "_data" && name != "__pycache__" {
                symlink(entry.path(), package.join(&name)).expect("package link");
            }
        }
        std::fs::write(
            package.join("configuration.py"),
            configuration(pg_port, db, redis, redis_db),
        )
        .expect("configuration");
        std::fs::write(
            project.join("manage.py"),
            "#!/usr/bin/env python3\nimport os\nimport sys\n\n\
             if __name__ == '__main__':\n\
             \x20   os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'netbox.settings')\n\
             \x20   from django.core.management import execute_from_command_line\n\
             \x20   execute_from_command_line(sys.argv)\n",
        )
        .expect("manage.py");
        Self {
            root: root.to_path_buf(),
            project: Some(project),
            venv,
            server: None,
            http_port: free_port(),
        }
    }

    /// A folder NetBox keeps files in (`media`, `scripts`, `reports`).
    pub fn folder(&self, name: &str) -> PathBuf {
        self.project.as_ref().unwrap_or(&self.root).join(name)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.venv.join("bin").join(program));
        match &self.project {
            None => {
                command
                    .env("NETBOX_ROOT", &self.root)
                    .current_dir(&self.root);
            }
            Some(project) => {
                command.env_remove("NETBOX_ROOT").current_dir(project);
            }
        }
        command.stdin(Stdio::null());
        command
    }

    /// `netbox ARGS` (its `manage.py`); fails the test with its output.
    pub fn manage(&self, args: &[&str]) -> String {
        let mut command = match &self.project {
            None => self.command("netbox"),
            Some(project) => {
                let mut python = self.command("python3");
                python.arg(project.join("manage.py"));
                python
            }
        };
        let output = assert_succeeded(
            command.args(args).output().expect("netbox runs"),
            &format!("`netbox {}` in {}", args.join(" "), self.root.display()),
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }
}

/// The `configuration.py` of a test install.
fn configuration(pg_port: u16, db: &str, redis: &Redis, redis_db: u8) -> String {
    format!(
        "ALLOWED_HOSTS = ['*']\n\
             DATABASES = {{\n    'default': {{\n        'ENGINE': 'django.db.backends.postgresql',\n\
             \x20       'NAME': '{db}',\n        'USER': '{ROLE}',\n        'PASSWORD': '{ROLE_PASSWORD}',\n\
             \x20       'HOST': '127.0.0.1',\n        'PORT': {pg_port},\n        'CONN_MAX_AGE': 300,\n\
             \x20       'CONN_HEALTH_CHECKS': True,\n    }}\n}}\n\
             REDIS = {{\n    'tasks': {{'HOST': '127.0.0.1', 'PORT': {port}, 'DATABASE': {tasks}, 'SSL': False}},\n\
             \x20   'caching': {{'HOST': '127.0.0.1', 'PORT': {port}, 'DATABASE': {redis_db}, 'SSL': False}},\n}}\n\
             SECRET_KEY = '{secret}'\n\
             API_TOKEN_PEPPERS = {{1: '{PEPPER}'}}\n",
        port = redis.port,
        tasks = redis_db + 1,
        secret = "k".repeat(10) + "-secret-key-of-the-tests-0123456789-abcdefghij",
    )
}

impl NetBox {
    /// Python run in NetBox's Django (`netbox shell --command`).
    pub fn shell(&self, code: &str) -> String {
        self.manage(&["shell", "--command", code])
    }

    /// Starts gunicorn (one worker, as NetBox's guide runs it) and waits
    /// until the login page answers.
    pub fn serve(&mut self) {
        let child = self
            .command("gunicorn")
            .args(["--bind", &format!("127.0.0.1:{}", self.http_port)])
            .args(["--workers", "1", "--threads", "2", "--timeout", "120"])
            .arg("netbox.wsgi")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gunicorn starts");
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok((status, _)) = self.try_get("/login/", None)
                && status == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "NetBox in {} did not answer on port {}",
                self.root.display(),
                self.http_port
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// GET `path`, with `Authorization: AUTH` when given: status and body.
    pub fn get(&self, path: &str, auth: Option<&str>) -> (u16, String) {
        self.try_get(path, auth)
            .unwrap_or_else(|e| panic!("GET {path} on port {}: {e}", self.http_port))
    }

    /// POST the JSON `body` to `path`: status and body.
    pub fn post_json(&self, path: &str, body: &str) -> (u16, String) {
        self.request("POST", path, None, Some(body))
            .unwrap_or_else(|e| panic!("POST {path} on port {}: {e}", self.http_port))
    }

    fn try_get(&self, path: &str, auth: Option<&str>) -> std::io::Result<(u16, String)> {
        self.request("GET", path, auth, None)
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        auth: Option<&str>,
        body: Option<&str>,
    ) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.http_port))?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let auth = auth.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
        let content = body.map_or(String::new(), |b| {
            format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            )
        });
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAccept: application/json, text/html\r\n{auth}{content}\r\n{}",
            body.unwrap_or_default()
        )?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response)?;
        let text = String::from_utf8_lossy(&response).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map_or(String::new(), |(_, b)| b.to_owned());
        Ok((status, body))
    }
}

impl Drop for NetBox {
    fn drop(&mut self) {
        // gunicorn's master stops its workers on SIGTERM (SIGKILL would
        // leave them behind).
        if let Some(mut child) = self.server.take() {
            let pid = i32::try_from(child.id()).expect("pid");
            // SAFETY: kill has no memory-safety preconditions.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
            let _ = child.wait();
        }
    }
}

/// Gives `db` on `cluster` (owned by [`ROLE`], made here) NetBox's schema:
/// restored from the cache beside the virtual environment, or, the first
/// time, by `netbox migrate` through `netbox` (which takes minutes), then
/// kept there.
pub fn migrated_database(cluster: &super::pg::Cluster, db: &str, netbox: &NetBox) {
    cluster.sql(
        "postgres",
        &format!("CREATE DATABASE {db} OWNER {ROLE} TEMPLATE template0 ENCODING 'UTF8'"),
    );
    let cache = venv().join("migrated.dump");
    let bindir = super::pg::server_bindir();
    if !cache.is_file() {
        netbox.manage(&["migrate", "--no-input"]);
        let partial = cache.with_extension("partial");
        let status = Command::new(bindir.join("pg_dump"))
            .args(["-Fc", "--no-owner", "-f"])
            .arg(&partial)
            .arg(cluster.url(db))
            .status()
            .expect("pg_dump runs");
        assert!(status.success(), "caching the migrated schema failed");
        std::fs::rename(&partial, &cache).expect("cache kept");
        return;
    }
    let output = Command::new(bindir.join("pg_restore"))
        .args(["--no-owner", "--exit-on-error", "--role", ROLE, "-d"])
        .arg(cluster.url(db))
        .arg(&cache)
        .output()
        .expect("pg_restore runs");
    assert_succeeded(
        output,
        &format!("restoring NetBox's schema from {}", cache.display()),
    );
}
