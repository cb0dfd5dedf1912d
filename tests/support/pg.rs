//! Throwaway PostgreSQL clusters for the integration tests: each test gets
//! its own servers on free ports, stopped when the test ends.
//!
//! `initdb` runs once per test process into a template folder; every
//! cluster starts from a copy of it. As root, the server programs run as the
//! `postgres` OS user (initdb refuses root), through `runuser`.

use super::free_port;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::assert_succeeded;

/// The role the password tests use on TCP with SCRAM authentication.
pub const PASSWORD_ROLE: &str = "replicator";

/// The folder with `initdb`, `pg_ctl` and `postgres`.
pub fn server_bindir() -> PathBuf {
    static BINDIR: OnceLock<PathBuf> = OnceLock::new();
    BINDIR
        .get_or_init(|| {
            find_bindir().unwrap_or_else(|| {
                panic!(
                    "PostgreSQL server programs (initdb, pg_ctl, postgres) not found.\n\
                     These tests run real servers: install them (Debian: `apt-get install postgresql`)\n\
                     or point REPLICATE_TEST_PG_BIN at the folder that holds them."
                )
            })
        })
        .clone()
}

fn find_bindir() -> Option<PathBuf> {
    let has = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("REPLICATE_TEST_PG_BIN") {
        return Some(PathBuf::from(dir)).filter(|d| has(d));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_string_lossy().parse().ok()?;
            Some((major, e.path().join("bin")))
        })
        .filter(|(_, dir)| has(dir))
        .collect();
    versions.sort();
    if let Some((_, dir)) = versions.pop() {
        return Some(dir);
    }
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    has(&dir).then_some(dir)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command run as the cluster owner: `postgres` when we are root.
fn as_owner(program: &Path) -> Command {
    as_owner_in(None, program)
}

/// [`as_owner`] in the network namespace `netns`, when one is given.
fn as_owner_in(netns: Option<&str>, program: &Path) -> Command {
    let mut words: Vec<&std::ffi::OsStr> = Vec::new();
    if is_root() {
        words.extend(["runuser", "-u", "postgres", "--"].map(std::ffi::OsStr::new));
    }
    words.push(program.as_os_str());
    super::in_netns(netns, &words)
}

fn chown_to_owner(path: &Path) {
    if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(path)
            .status()
            .expect("chown runs");
        assert!(status.success(), "chown {} failed", path.display());
    }
}

/// An initialised data folder, made once and copied for every cluster.
/// NetBox's 4.2 demo database (plain SQL, MIT licensed: see
/// `tests/fixtures/netbox-demo/LICENSE-netbox-demo-data`), unpacked once per
/// test run from the compressed copy the repository keeps.
pub fn netbox_demo_sql() -> &'static Path {
    static SQL: OnceLock<PathBuf> = OnceLock::new();
    SQL.get_or_init(|| {
        let packed =
            crate::support::root().join("tests/fixtures/netbox-demo/netbox-demo-v4.2.sql.zst");
        let dir = process_folder("replicate-netbox-demo-");
        let path = dir.join("netbox-demo-v4.2.sql");
        let input =
            std::fs::File::open(&packed).unwrap_or_else(|e| panic!("{}: {e}", packed.display()));
        let output = std::fs::File::create(&path).expect("unpacked fixture");
        zstd::stream::copy_decode(input, output).expect("the demo fixture unpacks");
        chown_to_owner(&dir);
        path
    })
}

fn template() -> &'static Path {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let dir = process_folder("replicate-pg-template-");
        let data = dir.join("data");
        chown_to_owner(&dir);
        let mut initdb = as_owner(&server_bindir().join("initdb"));
        initdb.current_dir(&dir).arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        assert_succeeded(initdb.output().expect("initdb runs"), "initdb");
        std::fs::write(
            data.join("pg_hba.conf"),
            format!(
                "local all all trust\n\
                 host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n\
                 host all all 127.0.0.1/32 trust\n"
            ),
        )
        .expect("pg_hba.conf");
        chown_to_owner(&data);
        data
    })
}

/// A temporary folder for the whole test process (held by a static, which
/// is never dropped), named `<prefix><pid>-<random>`. It outlives its
/// process, so the folders of the same kind left by processes that have
/// ended are removed first: test runs do not pile them up.
fn process_folder(prefix: &str) -> PathBuf {
    if let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.strip_prefix(prefix))
                .and_then(|rest| rest.split('-').next())
                .and_then(|pid| pid.parse::<u32>().ok());
            if let Some(pid) = pid
                && !Path::new("/proc").join(pid.to_string()).exists()
            {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    tempfile::Builder::new()
        .prefix(&format!("{prefix}{}-", std::process::id()))
        .tempdir()
        .expect("temporary folder")
        .keep()
}

/// A running PostgreSQL server, stopped when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
    /// The network namespace it runs in, when not this machine's.
    netns: Option<String>,
}

impl Cluster {
    pub fn start() -> Self {
        let dir = copy_of_template();
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let output = pg_ctl_start(dir.path(), port, None, "");
            if output.status.success() {
                let cluster = Self {
                    dir,
                    port,
                    netns: None,
                };
                cluster.wait_ready();
                return cluster;
            }
            last_error = std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default();
        }
        panic!("the PostgreSQL server did not start:\n{last_error}");
    }

    /// A server in the network namespace `netns`, on `port` of its
    /// loopback, with more server `options` (`-c name=value`); `prepare`
    /// first changes its data folder (`pg_hba.conf`, certificates).
    pub fn start_in(netns: &str, port: u16, options: &str, prepare: impl FnOnce(&Path)) -> Self {
        let dir = copy_of_template();
        prepare(&dir.path().join("data"));
        chown_to_owner(dir.path());
        let output = pg_ctl_start(dir.path(), port, Some(netns), options);
        assert!(
            output.status.success(),
            "the PostgreSQL server in {netns} did not start: {}",
            std::fs::read_to_string(dir.path().join("server.log")).unwrap_or_default()
        );
        let cluster = Self {
            dir,
            port,
            netns: Some(netns.to_owned()),
        };
        cluster.wait_ready();
        cluster
    }

    /// `psql` on the database `db` as the superuser, where the server is.
    pub fn psql(&self, db: &str) -> Command {
        psql_in(self.netns.as_deref(), &self.url(db))
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.try_sql("postgres", "SELECT 1").is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the PostgreSQL server on port {} is not ready", self.port);
    }

    /// `postgresql://postgres@127.0.0.1:PORT/DB` (trust authentication).
    pub fn url(&self, db: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// The same database through the server's socket folder, in the form
    /// `postgresql://postgres@/DB?host=FOLDER&port=PORT`.
    pub fn socket_url(&self, db: &str) -> String {
        format!(
            "postgresql://postgres@/{db}?host={}&port={}",
            self.dir.path().join("sock").display(),
            self.port
        )
    }

    /// The URL of the password role, with the password written in.
    pub fn password_url(&self, db: &str, password: &str) -> String {
        format!(
            "postgresql://{PASSWORD_ROLE}:{password}@127.0.0.1:{}/{db}",
            self.port
        )
    }

    pub fn try_sql(&self, db: &str, sql: &str) -> Result<String, String> {
        let output = self
            .psql(db)
            .args([
                "--tuples-only",
                "--no-align",
                "--field-separator=|",
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// Runs SQL as the superuser and returns the unaligned output.
    #[track_caller]
    pub fn sql(&self, db: &str, sql: &str) -> String {
        self.try_sql(db, sql)
            .unwrap_or_else(|e| panic!("SQL failed on port {}: {sql}\n{e}", self.port))
    }

    /// Runs a SQL file as the superuser, stopping at the first error.
    #[track_caller]
    pub fn sql_file(&self, db: &str, path: &Path) {
        let output = self
            .psql(db)
            .args(["--quiet", "--set=ON_ERROR_STOP=1", "-f"])
            .arg(path)
            .output()
            .expect("psql runs");
        assert_succeeded(output, &format!("loading {}", path.display()));
    }

    pub fn create_database(&self, name: &str) {
        self.sql("postgres", &format!("CREATE DATABASE \"{name}\""));
    }

    /// Adds the SCRAM password role (allowed to create databases).
    pub fn add_password_role(&self, password: &str) {
        self.sql(
            "postgres",
            &format!("CREATE ROLE {PASSWORD_ROLE} LOGIN CREATEDB PASSWORD '{password}'"),
        );
    }

    /// Starts the server again after [`Cluster::stop`], on the same port.
    pub fn start_again(&self) {
        let output = pg_ctl_start(self.dir.path(), self.port, self.netns.as_deref(), "");
        assert!(
            output.status.success(),
            "the server did not start again: {}",
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
        self.wait_ready();
    }

    pub fn stop(&self) {
        let _ = as_owner(&server_bindir().join("pg_ctl"))
            .current_dir(self.dir.path())
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A cluster folder for a new server: the template's data and a socket
/// folder, the server's own.
fn copy_of_template() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("replicate-pg-")
        .tempdir()
        .expect("temporary folder");
    let status = Command::new("cp")
        .arg("-a")
        .arg(template())
        .arg(dir.path().join("data"))
        .status()
        .expect("cp runs");
    assert!(status.success(), "copying the template cluster failed");
    std::fs::create_dir(dir.path().join("sock")).expect("socket folder");
    chown_to_owner(dir.path());
    dir
}

/// Starts the server of the cluster folder `dir` on `port`, in the
/// network namespace `netns` when one is given, with more `options`.
fn pg_ctl_start(dir: &Path, port: u16, netns: Option<&str>, more: &str) -> Output {
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB \
         -c max_connections=40 {more}",
        dir.join("sock").display()
    );
    as_owner_in(netns, &server_bindir().join("pg_ctl"))
        .current_dir(dir)
        .arg("-D")
        .arg(dir.join("data"))
        .arg("-l")
        .arg(dir.join("server.log"))
        .args(["-w", "-t", "60", "-o", &options, "start"])
        .stdin(Stdio::null())
        .output()
        .expect("pg_ctl runs")
}

/// `psql` for a URL, without the user's settings.
pub fn psql(url: &str) -> Command {
    psql_in(None, url)
}

/// [`psql`] in the network namespace `netns`, when one is given.
fn psql_in(netns: Option<&str>, url: &str) -> Command {
    let mut command = super::in_netns(netns, &[server_bindir().join("psql")]);
    command
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .args(["--no-psqlrc", "--no-password", "-d", url])
        .stdin(Stdio::null());
    command
}

/// A source and a target server.
pub struct Pair {
    pub source: Cluster,
    pub target: Cluster,
}

impl Pair {
    pub fn start() -> Self {
        let (source, target) = std::thread::scope(|s| {
            let a = s.spawn(Cluster::start);
            let b = s.spawn(Cluster::start);
            (
                a.join().expect("source server"),
                b.join().expect("target server"),
            )
        });
        Self { source, target }
    }
}

/// What must be equal between a source and its replica.
#[derive(Debug, PartialEq, Eq)]
pub struct DbFacts {
    /// Row count of every table in `public`.
    pub rows: std::collections::BTreeMap<String, i64>,
    /// Every sequence's `last_value` (`null` before its first use).
    pub sequences: std::collections::BTreeMap<String, String>,
    pub indexes: i64,
    pub constraints: i64,
    /// Every index's and constraint's definition in `public`, with its
    /// flags (primary, deferrable...) and the index behind a constraint
    /// (but a foreign key's: the server picks any unique index that fits).
    pub keys: std::collections::BTreeMap<String, String>,
    pub triggers: i64,
    pub views: i64,
    /// Encoding, collation and ctype of the database.
    pub encoding: String,
}

impl Cluster {
    pub fn facts(&self, db: &str) -> DbFacts {
        let pairs = |sql: &str| -> std::collections::BTreeMap<String, String> {
            self.sql(db, sql)
                .lines()
                .filter_map(|l| l.split_once('|'))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        };
        let count = |sql: &str| -> i64 { self.sql(db, sql).parse().expect("a count") };
        DbFacts {
            rows: pairs(
                "SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1",
            )
            .into_iter()
            .map(|(k, v)| (k, v.parse().expect("a row count")))
            .collect(),
            sequences: pairs(
                "SELECT sequencename, coalesce(last_value::text, 'null') FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1",
            ),
            indexes: count("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"),
            constraints: count(
                "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'",
            ),
            keys: pairs(
                "SELECT 'index ' || indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' \
                 UNION ALL SELECT 'index flags ' || i.indexrelid::regclass::text, i.indisprimary::text || ' ' || i.indisunique::text || ' ' || i.indimmediate::text \
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' \
                 UNION ALL SELECT 'constraint ' || c.conrelid::regclass::text || ' ' || c.conname, c.contype::text || ' ' || pg_get_constraintdef(c.oid) \
                 || ' deferrable=' || c.condeferrable::text || ' deferred=' || c.condeferred::text || CASE WHEN c.contype = 'f' THEN '' ELSE ' index=' || coalesce(c.conindid::regclass::text, '-') END \
                 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' ORDER BY 1",
            ),
            triggers: count(
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname = 'public'",
            ),
            views: count("SELECT count(*) FROM pg_views WHERE schemaname = 'public'"),
            encoding: self.sql(
                db,
                "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype FROM pg_database WHERE datname = current_database()",
            ),
        }
    }
}
