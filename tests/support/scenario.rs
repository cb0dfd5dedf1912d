//! A replication scenario against real servers: a source loaded with the
//! NetBox-shaped fixture, a target holding a marker row, a manifest in a
//! folder; and what the tests check of them.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::media_tree::contents;
use super::pg::{Cluster, DbFacts, Pair, psql};
use super::{Replicate, Run, root, wait_until};

/// Tables whose rows the test manifests leave out.
const EXCLUDED: [&str; 3] = ["extras_objectchange", "core_objectchange", "django_session"];
const MARKER: &str = "replicate_marker";

pub struct Scenario {
    pub pair: Pair,
    pub dir: tempfile::TempDir,
}

/// The media folders of [`Scenario::add_archived_media`].
pub struct ArchivedMedia {
    pub source: PathBuf,
    pub target: PathBuf,
    /// The target folder's files before any extract (see [`contents`]).
    pub before: Vec<(PathBuf, Vec<u8>)>,
}

impl Scenario {
    /// A source loaded with the NetBox-shaped fixture, a target whose
    /// `netbox` database holds a marker row, and a manifest in a folder.
    pub fn new(format: &str, extra: &str) -> Self {
        let pair = Pair::start();
        pair.source.create_database("netbox");
        pair.source
            .sql_file("netbox", &root().join("tests/fixtures/netbox-shaped.sql"));
        pair.target.create_database("netbox");
        place_marker(&pair.target, "netbox");
        let scenario = Self {
            pair,
            dir: tempfile::tempdir().expect("temporary folder"),
        };
        let source = scenario.pair.source.url("netbox");
        let target = scenario.pair.target.url("netbox");
        scenario.write_manifest(&format!(
            "version = 1\n\
             [source]\ndatabase = \"{source}\"\n\
             [target]\ndatabase = \"{target}\"\n\
             [include]\nexclude_table_data = [\"extras_objectchange\", \"core_objectchange\", \"django_session\"]\n\
             [artifacts]\nformat = \"{format}\"\n{extra}"
        ));
        scenario
    }

    /// Adds a source media folder (the awkward tree of `media::build_tree`,
    /// plus `extra_megabytes` of noise) and a target media folder holding a
    /// stale file and an old version of one source file. Returns both.
    pub fn add_media(&self, extra_megabytes: usize) -> (PathBuf, PathBuf) {
        let source = self.dir.path().join("source-media");
        let target = self.dir.path().join("target-media");
        super::media_tree::build_tree(&source, false);
        if extra_megabytes > 0 {
            let status = Command::new("head")
                .args(["-c", &format!("{extra_megabytes}M"), "/dev/urandom"])
                .stdout(std::fs::File::create(source.join("large.bin")).unwrap())
                .status()
                .unwrap();
            assert!(status.success());
        }
        for (path, bytes) in [
            ("stale/removed-upstream.png", &b"stale"[..]),
            ("devicetype-images/model-1.png", &b"old version"[..]),
        ] {
            std::fs::create_dir_all(target.join(path).parent().unwrap()).unwrap();
            std::fs::write(target.join(path), bytes).unwrap();
        }
        let text = std::fs::read_to_string(self.manifest()).unwrap();
        self.write_manifest(
            &text
                .replace("[target]\n", "media = \"source-media\"\n[target]\n")
                .replace("[include]\n", "media = \"target-media\"\n[include]\n"),
        );
        (source, target)
    }

    /// [`Scenario::add_media`], then `apply --steps dump,archive`: the
    /// artifacts made, the target not touched yet. Returns both folders and
    /// what the target folder holds before any extract.
    pub fn add_archived_media(&self, extra_megabytes: usize) -> ArchivedMedia {
        let (source, target) = self.add_media(extra_megabytes);
        self.apply(&["--steps", "dump,archive"]).success();
        let before = contents(&target);
        ArchivedMedia {
            source,
            target,
            before,
        }
    }

    /// Adds to the source a table large enough that its `COPY` is seen
    /// running: `rows` rows of `width` times 32 characters.
    pub fn add_big_table(&self, name: &str, rows: u32, width: u32) {
        self.pair.source.sql(
            "netbox",
            &format!(
                "CREATE TABLE public.{name} AS SELECT i AS id, repeat(md5(i::text), {width}) AS body \
                 FROM generate_series(1, {rows}) i"
            ),
        );
    }

    pub fn write_manifest(&self, text: &str) {
        std::fs::write(self.manifest(), text).expect("manifest written");
    }

    /// Rewrites the manifest with what `edit` makes of its text.
    pub fn edit_manifest(&self, edit: impl FnOnce(&str) -> String) {
        let text = std::fs::read_to_string(self.manifest()).expect("the manifest");
        self.write_manifest(&edit(&text));
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.path().join("replicate.toml")
    }

    pub fn artifacts(&self) -> PathBuf {
        self.dir.path().join(".replicate")
    }

    /// The run's journal, `state.json` in the artifacts folder.
    pub fn state(&self) -> serde_json::Value {
        let text =
            std::fs::read_to_string(self.artifacts().join("state.json")).expect("state.json");
        serde_json::from_str(&text).expect("state.json is JSON")
    }

    pub fn replicate(&self) -> Replicate {
        Replicate::new().current_dir(self.dir.path())
    }

    pub fn apply(&self, args: &[&str]) -> Run {
        self.replicate()
            .args(["apply", "--auto-approve"])
            .args(args)
            .run()
    }

    /// `apply --steps dump`, which must succeed and leave the target as it
    /// was.
    #[track_caller]
    pub fn dump_only(&self) {
        self.apply(&["--steps", "dump"]).success();
        self.assert_target_untouched();
    }

    /// The marker row placed in the target before the run is still there.
    #[track_caller]
    pub fn assert_target_untouched(&self) {
        assert_marker(&self.pair.target, "netbox");
    }

    /// Makes the target's `netbox` database belong to `role`, made here and
    /// allowed to create databases and end sessions, and points the
    /// manifest's target at it.
    pub fn as_owner_role(&self, role: &str) {
        let target = &self.pair.target;
        target.sql(
            "postgres",
            &format!("CREATE ROLE {role} LOGIN CREATEDB; GRANT pg_signal_backend TO {role}"),
        );
        target.sql(
            "postgres",
            &format!("ALTER DATABASE netbox OWNER TO {role}"),
        );
        target.sql("netbox", &format!("ALTER TABLE {MARKER} OWNER TO {role}"));
        let url = target.url("netbox");
        self.edit_manifest(|text| {
            text.replace(&url, &url.replace("postgres@", &format!("{role}@")))
        });
    }

    /// The replica matches the source, and the target media folder of
    /// [`Scenario::add_media`] the source's, file for file, mode for mode.
    #[track_caller]
    pub fn assert_copy_matches(&self) {
        self.assert_replica_matches();
        let media = |name: &str| super::media_tree::tree(&self.dir.path().join(name));
        assert_eq!(
            media("target-media"),
            media("source-media"),
            "the media folders differ"
        );
    }

    /// The replica matches the source: rows (excluded tables empty),
    /// sequences, indexes, constraints, triggers, views and encoding.
    #[track_caller]
    pub fn assert_replica_matches(&self) {
        assert_replica_matches(&self.pair.source, &self.pair.target, "netbox", &EXCLUDED);
        let facts = self.pair.target.facts("netbox");
        assert!(facts.triggers > 0 && facts.views > 0 && facts.sequences.len() > 10);
        assert!(
            self.pair
                .target
                .try_sql("netbox", &format!("SELECT 1 FROM {MARKER}"))
                .is_err(),
            "the target still has the marker table: it was not replaced"
        );
    }
}

/// Places the marker table, holding one row `before`, in the database `db`.
pub fn place_marker(cluster: &Cluster, db: &str) {
    cluster.sql(
        db,
        &format!("CREATE TABLE {MARKER} (note text); INSERT INTO {MARKER} VALUES ('before')"),
    );
}

/// The note of the marker row in the database `db`.
pub fn marker(cluster: &Cluster, db: &str) -> String {
    cluster.sql(db, &format!("SELECT note FROM {MARKER}"))
}

/// The marker row is still in the database `db`: it was not replaced.
#[track_caller]
pub fn assert_marker(cluster: &Cluster, db: &str) {
    assert_eq!(
        marker(cluster, db),
        "before",
        "the target database was changed"
    );
}

#[track_caller]
pub fn assert_replica_matches(source: &Cluster, target: &Cluster, db: &str, excluded: &[&str]) {
    let rows: Vec<(&str, i64)> = excluded.iter().map(|t| (*t, 0)).collect();
    assert_replica_holds(source, target, db, &rows);
}

/// The replica matches the source, but for the tables in `rows`, which hold
/// the given number of rows (fewer than the source: a test of left-out
/// rows that proves something).
#[track_caller]
pub fn assert_replica_holds(source: &Cluster, target: &Cluster, db: &str, rows: &[(&str, i64)]) {
    let mut expected: DbFacts = source.facts(db);
    let found = target.facts(db);
    for (table, want) in rows {
        let have = expected
            .rows
            .get_mut(*table)
            .expect("the table exists in the source");
        assert!(
            *have > *want,
            "{table} has {have} rows in the source: leaving rows out of it proves nothing"
        );
        *have = *want;
    }
    assert_eq!(found.rows, expected.rows, "row counts differ");
    assert_eq!(found.sequences, expected.sequences, "sequences differ");
    assert_eq!(found, expected);
    assert!(expected.rows.len() > 10, "too few tables to prove anything");
}

/// Holds an exclusive lock on a source table, so `pg_dump` waits on it.
pub struct TableLock {
    child: std::process::Child,
    /// Ends the lock holder's session.
    ender: Command,
}

impl TableLock {
    pub fn hold(cluster: &Cluster, table: &str) -> Self {
        Self::hold_in(cluster, "netbox", table)
    }

    /// The same, on a table of the database `db`.
    pub fn hold_in(cluster: &Cluster, db: &str, table: &str) -> Self {
        let child = cluster
            .psql(db)
            .env("PGAPPNAME", "test-lock-holder")
            .args([
                "-c",
                &format!(
                    "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60);"
                ),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("psql runs");
        wait_until(20, 20, "the lock was not taken", || {
            cluster.sql("postgres", "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND locktype = 'relation'") != "0"
        });
        // The server would hold the lock until pg_sleep ends: the session
        // is ended instead.
        let mut ender = cluster.psql("postgres");
        ender.args([
            "-c",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'test-lock-holder'",
        ]);
        Self { child, ender }
    }
}

impl Drop for TableLock {
    fn drop(&mut self) {
        let _ = self.ender.output();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A session in the database `db` of `cluster`, named `app`, that sleeps
/// until it is ended; there once this returns.
pub fn session_in(cluster: &Cluster, db: &str, app: &str) -> std::process::Child {
    let child = psql(&cluster.url(db))
        .env("PGAPPNAME", app)
        .args(["-c", "SELECT pg_sleep(120)"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("psql runs");
    let sessions = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db}' AND application_name = '{app}'"
    );
    wait_until(20, 20, "the session did not open", || {
        cluster.sql("postgres", &sessions) != "0"
    });
    child
}

/// Waits until a `replicate` session on `cluster` waits for a lock.
pub fn wait_for_blocked_dump(cluster: &Cluster) -> String {
    let mut pid = String::new();
    wait_until(30, 20, "pg_dump never waited on the lock", || {
        pid = cluster.sql(
            "postgres",
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'replicate' AND wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE %' LIMIT 1",
        );
        !pid.is_empty()
    });
    pid
}
