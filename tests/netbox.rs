//! NetBox awareness against real servers: each side's schema and release in
//! the plan, a target whose NetBox is older than the data refused at plan
//! time, one that is newer told to `migrate`, change log names, and `init`.

use std::fs;
use std::path::Path;

use crate::support::docker::Container;
use crate::support::media_tree::tree;
use crate::support::netbox::{init_args, load_release};
use crate::support::pg::{Cluster, Pair, netbox_demo_sql};
use crate::support::scenario::{assert_marker, assert_replica_matches, place_marker};
use crate::support::ssh::SshHost;
use crate::support::{Replicate, Run};

/// The release the older layout is made as: the last 3.x.
const OLDER: &str = "v3.7.8";
/// What the plan calls the demo fixture (a 4.2 pre-release's migrations).
const DEMO_RELEASE: &str = "NetBox 4.2-beta1";
/// `[include]` leaving out the rows of NetBox's change log from 4.1 on.
const CORE_LOG: &str = "exclude_table_data = [\"core_objectchange\"]";
/// The same for the change log before 4.1.
const EXTRAS_LOG: &str = "exclude_table_data = [\"extras_objectchange\"]";

fn load_demo(cluster: &Cluster, db: &str) {
    cluster.sql("postgres", "CREATE ROLE netbox LOGIN");
    cluster.create_database(db);
    cluster.sql_file(db, netbox_demo_sql());
}

/// A folder whose manifest copies the `netbox` database of a pair's
/// source to its target.
struct Copy<'a> {
    pair: &'a Pair,
    dir: tempfile::TempDir,
}

impl<'a> Copy<'a> {
    fn new(pair: &'a Pair) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self { pair, dir }
    }

    /// Writes the manifest: `include` in `[include]`, `target_extra` in
    /// `[target]`.
    fn manifest(&self, include: &str, target_extra: &str) -> &Self {
        fs::write(
            self.dir.path().join("replicate.toml"),
            format!(
                "version = 1\n[source]\ndatabase = \"{}\"\n[target]\ndatabase = \"{}\"\n{target_extra}\n[include]\n{include}\n",
                self.pair.source.url("netbox"),
                self.pair.target.url("netbox"),
            ),
        )
        .unwrap();
        self
    }

    /// `replicate plan ARGS`, which must succeed; its output flattened.
    #[track_caller]
    fn plan(&self, args: &[&str]) -> String {
        replicate(self.dir.path(), "plan", args)
            .success()
            .stdout_flat()
    }
}

/// `replicate COMMAND ARGS...` in `dir`.
fn replicate(dir: &Path, command: &str, args: &[&str]) -> Run {
    Replicate::new()
        .current_dir(dir)
        .args([command])
        .args(args)
        .run()
}

#[test]
fn the_plan_names_each_sides_netbox_release_and_latest_migrations() {
    let pair = Pair::start();
    load_demo(&pair.source, "netbox");
    load_release(&pair.target, "netbox", "v4.2.8");
    let copy = Copy::new(&pair);
    copy.manifest(CORE_LOG, "allow_older_netbox = true");
    let out = copy.plan(&[]);
    assert!(out.contains(DEMO_RELEASE), "{out}");
    assert!(out.contains("circuits 0050_virtual_circuits"), "{out}");
    assert!(out.contains("NetBox 4.2.6 to 4.2.8"), "{out}");

    let json: serde_json::Value = serde_json::from_str(&copy.plan(&["--json"])).unwrap();
    assert_eq!(json["source"]["netbox"]["release"], DEMO_RELEASE);
    assert_eq!(
        json["source"]["netbox"]["latest"]["extras"],
        "0122_charfield_null_choices"
    );
    assert_eq!(json["target"]["netbox"]["release"], "NetBox 4.2.6 to 4.2.8");
}

#[test]
fn a_target_older_than_the_data_is_refused_at_plan_time_and_left_as_it_was() {
    let pair = Pair::start();
    load_demo(&pair.source, "netbox");
    load_release(&pair.target, "netbox", OLDER);
    place_marker(&pair.target, "netbox");
    let copy = Copy::new(&pair);
    copy.manifest(CORE_LOG, "");
    for args in [&["plan"][..], &["apply", "--auto-approve"][..]] {
        Replicate::new()
            .current_dir(copy.dir.path())
            .args(args)
            .run()
            .code(1)
            .stderr_has("the target's NetBox looks older than the source's data")
            .stderr_has(DEMO_RELEASE)
            .stderr_has("(NetBox 3.7.3 to 3.7.8) lacks")
            .stderr_has("the newest of each app: circuits 0050_virtual_circuits")
            .stderr_has("extras 0122_charfield_null_choices")
            .stderr_has("allow_older_netbox = true");
    }
    assert_marker(&pair.target, "netbox");
    assert!(!copy.dir.path().join(".replicate/netbox.dir").exists());

    // Allowed: a warning, repeated in the summary line.
    let flat = copy
        .manifest(CORE_LOG, "allow_older_netbox = true")
        .plan(&[]);
    let summary = flat[flat.rfind("Plan: ").unwrap_or(0)..].to_owned();
    assert!(summary.starts_with("Plan: "), "{summary}");
    assert!(
        summary.contains("allowed by allow_older_netbox"),
        "{summary}"
    );
}

#[test]
fn a_target_newer_than_the_data_is_told_to_migrate() {
    let pair = Pair::start();
    load_release(&pair.source, "netbox", OLDER);
    load_demo(&pair.target, "netbox");
    let copy = Copy::new(&pair);
    let out = copy.manifest(EXTRAS_LOG, "").plan(&[]);
    assert!(
        out.contains("the target's NetBox is newer than the source's data"),
        "{out}"
    );
    assert!(
        out.contains("run `manage.py migrate` on the target"),
        "{out}"
    );
    let summary = &out[out.rfind("Plan: ").unwrap_or(0)..];
    assert!(summary.contains("1 warning: "), "{summary}");

    // An invalidate that runs `migrate` answers it: a note, no warning.
    let migrates = "invalidate = [\"true\", \"manage.py\", \"migrate\"]";
    let out = copy.manifest(EXTRAS_LOG, migrates).plan(&[]);
    assert!(
        out.contains("invalidate-target runs `migrate` after the copy"),
        "{out}"
    );
    assert!(!out.contains("Warning:"), "{out}");

    // So does `manage`, and the plan lists `migrate` first among what
    // invalidate-target runs through it.
    let manage = "manage = [\"/srv/nb/venv/bin/python3\", \"/srv/nb/netbox/manage.py\"]";
    let out = copy.manifest(EXTRAS_LOG, manage).plan(&["--verbose"]);
    assert!(
        out.contains(
            "make the target's NetBox serve the copy: migrate, then clear its cached configuration"
        ),
        "{out}"
    );
    assert!(!out.contains("Warning:"), "{out}");
    // All in one NetBox process (it takes seconds to start), in turn.
    let shell = out
        .find("$ /srv/nb/venv/bin/python3 /srv/nb/netbox/manage.py shell --command")
        .unwrap_or_else(|| panic!("{out}"));
    let migrate = out
        .find(r#"call_command("migrate","#)
        .unwrap_or_else(|| panic!("{out}"));
    let clear = out
        .find("cache.delete_many(")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(shell < migrate && migrate < clear, "{out}");
    assert_eq!(out.matches("manage.py shell").count(), 1, "{out}");
}

#[test]
fn a_new_or_empty_target_passes() {
    let pair = Pair::start();
    load_demo(&pair.source, "netbox");
    pair.target.create_database("netbox");
    let copy = Copy::new(&pair);
    let out = copy.manifest(CORE_LOG, "").plan(&[]);
    assert!(out.contains(DEMO_RELEASE), "{out}");
    assert!(!out.contains("Warning:"), "{out}");
    pair.target.sql("postgres", "DROP DATABASE netbox");
    let out = copy.plan(&[]);
    assert!(!out.contains("Warning:"), "{out}");
}

#[test]
fn an_exclusion_naming_the_other_layouts_change_log_says_so() {
    let pair = Pair::start();
    load_demo(&pair.source, "netbox");
    let copy = Copy::new(&pair);
    let out = copy.manifest(EXTRAS_LOG, "").plan(&[]);
    let expected = "exclude_table_data names `extras_objectchange`, NetBox's change log before 4.1; this source (NetBox 4.2-beta1) keeps its change log in `core_objectchange`, which is copied in full (about";
    assert!(out.contains(expected), "{out}");
    assert!(!out.contains("matches no table"), "{out}");
    let summary = &out[out.rfind("Plan: ").unwrap_or(0)..];
    assert!(summary.contains(expected), "{summary}");

    // Nothing excluded: a note with the change log's size.
    let out = copy.manifest("", "").plan(&[]);
    assert!(
        out.contains("the change log core_objectchange (about"),
        "{out}"
    );

    // The older layout, with the newer name.
    let older = Pair::start();
    load_release(&older.source, "netbox", OLDER);
    let out = Copy::new(&older).manifest(CORE_LOG, "").plan(&[]);
    assert!(
        out.contains("exclude_table_data names `core_objectchange`, NetBox's change log 4.1 and later; this source (NetBox 3.7"),
        "{out}"
    );
    assert!(
        out.contains("exclude `extras_objectchange` instead"),
        "{out}"
    );
}

/// A fake NetBox install: `netbox/manage.py`, a `venv/bin/python3` that
/// records its arguments, a configuration that moves the reports folder,
/// and the three folders with files.
fn fake_install(root: &Path, with_files: bool) {
    fs::create_dir_all(root.join("netbox/netbox")).unwrap();
    fs::create_dir_all(root.join("venv/bin")).unwrap();
    fs::write(root.join("netbox/manage.py"), "").unwrap();
    let log = root.join("invalidate.log");
    let python = root.join("venv/bin/python3");
    fs::write(
        &python,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n", log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&python, fs::Permissions::from_mode(0o755)).unwrap();
    let reports = root.join("custom-reports");
    fs::write(
        root.join("netbox/netbox/configuration.py"),
        format!(
            "ALLOWED_HOSTS = ['*']\nREPORTS_ROOT = '{}'\n",
            reports.display()
        ),
    )
    .unwrap();
    if with_files {
        for (path, bytes) in [
            ("netbox/media/image-attachments/rack.png", &b"png bytes"[..]),
            ("netbox/scripts/provision.py", b"class Provision: pass\n"),
            ("netbox/scripts/__init__.py", b""),
            ("custom-reports/audit.py", b"class Audit: pass\n"),
        ] {
            let path = root.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, bytes).unwrap();
        }
    }
}

fn init(dir: &Path, args: &[&str]) -> Run {
    replicate(dir, "init", args)
}

#[test]
fn init_writes_a_manifest_for_the_netbox_demo_that_validates_and_applies() {
    let pair = Pair::start();
    load_demo(&pair.source, "netbox");
    pair.source.add_password_role("s3cret-init");
    pair.source
        .sql("postgres", "GRANT pg_read_all_data TO replicator");
    let dir = tempfile::tempdir().unwrap();
    let (source_root, target_root) = (dir.path().join("prod"), dir.path().join("staging"));
    fake_install(&source_root, true);
    fake_install(&target_root, false);
    let source_url = pair.source.password_url("netbox", "s3cret-init");
    let args = init_args(
        &source_url,
        &pair.target.url("netbox"),
        &source_root,
        &target_root,
    );
    let run = Replicate::new()
        .current_dir(dir.path())
        .args(["init"])
        .args(args)
        .run()
        .success();
    assert!(run.stdout().contains(DEMO_RELEASE), "{}", run.stdout());
    assert!(run.stdout().contains("export SOURCE_DB_PASSWORD=..."));
    let manifest = fs::read_to_string(dir.path().join("replicate.toml")).unwrap();
    assert!(!manifest.contains("s3cret-init"), "{manifest}");
    assert!(manifest.contains("${SOURCE_DB_PASSWORD}"), "{manifest}");
    assert!(
        manifest.contains("exclude_table_data = [\"core_objectchange\"]\n"),
        "{manifest}"
    );
    // `manage` from the target's install: its own Python, never the system's.
    assert!(
        manifest.contains(&format!(
            "\nmanage = [\"{}\", \"{}\"]\n",
            target_root.join("venv/bin/python3").display(),
            target_root.join("netbox/manage.py").display()
        )),
        "{manifest}"
    );
    assert!(!manifest.contains("\ninvalidate ="), "{manifest}");
    assert!(
        manifest.contains(&format!(
            "reports = \"{}\"",
            source_root.join("custom-reports").display()
        )),
        "{manifest}"
    );

    // It refuses to overwrite without --force.
    init(dir.path(), &["--source", &source_url])
        .code(1)
        .stderr_has("already exists");
    assert_eq!(
        fs::read_to_string(dir.path().join("replicate.toml")).unwrap(),
        manifest
    );

    let env = ("SOURCE_DB_PASSWORD", "s3cret-init");
    Replicate::new()
        .current_dir(dir.path())
        .env(env.0, env.1)
        .args(["validate"])
        .run()
        .success();
    Replicate::new()
        .current_dir(dir.path())
        .env(env.0, env.1)
        .args(["apply", "--auto-approve"])
        .run()
        .success();
    // The demo's change log is empty; its search cache is copied.
    assert_replica_matches(&pair.source, &pair.target, "netbox", &[]);
    for (from, to) in [
        ("netbox/media", "netbox/media"),
        ("netbox/scripts", "netbox/scripts"),
        ("custom-reports", "custom-reports"),
    ] {
        assert_eq!(
            crate::support::media_tree::tree(&source_root.join(from)),
            crate::support::media_tree::tree(&target_root.join(to)),
            "{from}"
        );
    }
    let log = fs::read_to_string(target_root.join("invalidate.log")).unwrap();
    assert!(
        log.contains("manage.py shell --command import sys")
            && log.contains(r#"cache.delete_many(["config", "config_version"])"#),
        "{log}"
    );
    assert!(!log.contains("reindex"), "{log}");
}

#[test]
fn init_reads_installs_over_ssh_and_in_a_container_and_the_manifest_applies() {
    let pair = Pair::start();
    load_demo(&pair.source, "netbox");
    let host = SshHost::start();
    let dir = tempfile::tempdir().unwrap();
    let (source_root, target_root) = (dir.path().join("prod"), dir.path().join("staging"));
    fake_install(&source_root, true);
    fake_install(&target_root, false);
    // The container sees the target's install at the same path.
    let container = Container::start(&target_root, &target_root.display().to_string());
    let source_url = host.url(&source_root);
    let target_url = format!("docker://{}{}", container.name, target_root.display());
    Replicate::new()
        .current_dir(dir.path())
        .args(["init", "--source", &pair.source.url("netbox")])
        .args(["--target", &pair.target.url("netbox")])
        .args(["--netbox-root", &source_url, "--netbox-root", &target_url])
        .args(["--ssh-config", &host.config().display().to_string()])
        .run()
        .success();
    let manifest = fs::read_to_string(dir.path().join("replicate.toml")).unwrap();
    for expected in [
        format!("\nmedia = \"{source_url}/netbox/media\"\n"),
        format!("\nreports = \"{source_url}/custom-reports\"\n"),
        format!("\nmedia = \"{target_url}/netbox/media\"\n"),
        format!("\nreports = \"{target_url}/custom-reports\"\n"),
        format!(
            "\nmanage = [\"docker\", \"exec\", \"-i\", \"--\", \"{}\", \"{}\", \"{}\"]\n",
            container.name,
            target_root.join("venv/bin/python3").display(),
            target_root.join("netbox/manage.py").display()
        ),
        format!("\nssh_config = \"{}\"\n", host.config().display()),
    ] {
        assert!(manifest.contains(&expected), "{expected} in:\n{manifest}");
    }
    Replicate::new()
        .current_dir(dir.path())
        .args(["apply", "--auto-approve"])
        .run()
        .success();
    assert_replica_matches(&pair.source, &pair.target, "netbox", &[]);
    for folder in ["netbox/media", "netbox/scripts", "custom-reports"] {
        assert_eq!(
            tree(&source_root.join(folder)),
            tree(&target_root.join(folder)),
            "{folder}"
        );
    }
    // NetBox's after-copy actions ran in the container.
    let log = fs::read_to_string(target_root.join("invalidate.log")).unwrap();
    assert!(
        log.contains("manage.py shell --command import sys"),
        "{log}"
    );
}

#[test]
fn init_names_the_old_change_log_for_an_older_layout() {
    let pair = Pair::start();
    load_release(&pair.source, "netbox", "v3.5.2");
    let dir = tempfile::tempdir().unwrap();
    init(dir.path(), &["--source", &pair.source.url("netbox")]).success();
    let manifest = fs::read_to_string(dir.path().join("replicate.toml")).unwrap();
    assert!(
        manifest.contains("exclude_table_data = [\"extras_objectchange\""),
        "{manifest}"
    );
    assert!(manifest.contains("NetBox 3.5"), "{manifest}");
    // Without the target's install, `manage` is written commented out,
    // with what it would run.
    assert!(
        manifest.contains("\n# manage = [\"/opt/netbox/venv/bin/python3\""),
        "{manifest}"
    );
    assert!(manifest.contains("cached configuration"), "{manifest}");
    assert!(manifest.contains("target.invalid"), "{manifest}");
    Replicate::new()
        .current_dir(dir.path())
        .args(["validate"])
        .run()
        .success();
}
