//! Faults and hostile input: replicate killed, interrupted, servers gone,
//! disks full, files tampered with, odd names. Every test ends by checking
//! that nothing was lost.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::pg::server_bindir;
use crate::support::scenario::{Scenario, TableLock, wait_for_blocked_dump};
use crate::support::{Replicate, processes_with, wait_for_step, wait_until_gone};

/// No artifact of `name` looks complete: no final file, no SHA256SUMS line.
#[track_caller]
fn assert_not_complete(artifacts: &Path, name: &str) {
    assert!(!artifacts.join(name).exists(), "{name} looks complete");
    let sums = fs::read_to_string(artifacts.join("SHA256SUMS")).unwrap_or_default();
    assert!(
        !sums
            .lines()
            .any(|l| l.ends_with(&format!("  {name}")) || l.contains(&format!("  {name}/"))),
        "SHA256SUMS lists {name}:\n{sums}"
    );
}

/// A bindir whose `pg_restore` waits for a release file before running the
/// real one, so a test can act while `restore` is under way.
fn gated_bindir(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let bin = dir.join("gated-bin");
    fs::create_dir(&bin).unwrap();
    let real = server_bindir();
    for tool in ["pg_dump", "psql"] {
        std::os::unix::fs::symlink(real.join(tool), bin.join(tool)).unwrap();
    }
    let started = dir.join("restore-started");
    let release = dir.join("restore-release");
    // A `pg_restore` that reads the dump (its table of contents, its
    // sequence values) passes; the one that restores into a database
    // waits.
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in *--dbname=*) ;; *) exec '{real}' \"$@\";; esac\ntouch '{}'\nwhile [ ! -e '{}' ]; do sleep 0.05; done\nexec '{real}' \"$@\"\n",
        started.display(),
        release.display(),
        real = real.join("pg_restore").display()
    );
    fs::write(bin.join("pg_restore"), script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(bin.join("pg_restore"), fs::Permissions::from_mode(0o755)).unwrap();
    (bin, started, release)
}

#[track_caller]
fn wait_for_file(path: &Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn media_tree(path: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walkdir::WalkDir::new(path)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(path).unwrap().to_path_buf(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn killed_during_dump_then_resumed() {
    let s = Scenario::new("directory", "");
    let lock = TableLock::hold(&s.pair.source, "dcim_interface");
    let run = s.replicate().args(["apply", "--auto-approve"]).spawn();
    wait_for_blocked_dump(&s.pair.source);
    run.signal(libc::SIGKILL);
    run.finish();
    // pg_dump dies with replicate instead of writing on.
    wait_until_gone(&["pg_dump", &s.pair.source.port.to_string()]);
    drop(lock);
    assert_not_complete(&s.artifacts(), "netbox.dir");
    s.assert_target_untouched();

    let resumed = s.apply(&["--resume"]).success();
    assert!(
        resumed.stdout().contains("dump               done"),
        "{}",
        resumed.stdout()
    );
    s.assert_replica_matches();
}

#[test]
fn killed_during_archive_then_resumed() {
    let s = Scenario::new("custom", "compression = \"gzip\"\n");
    let (source, target) = s.add_media(96);
    let mut run = s.replicate().args(["apply", "--auto-approve"]).spawn();
    wait_for_step(&mut run, &s.artifacts(), "archive", "running", 120);
    run.signal(libc::SIGKILL);
    run.finish();
    assert_not_complete(&s.artifacts(), "netbox_media.tar.gz");
    assert_not_complete(&s.artifacts(), "netbox_media.sha256");
    s.assert_target_untouched();
    assert!(target.join("stale/removed-upstream.png").exists());

    s.apply(&["--resume"]).success();
    s.assert_replica_matches();
    assert_eq!(media_tree(&target), media_tree(&source));
}

#[test]
fn killed_during_restore_then_resumed() {
    let s = Scenario::new("directory", "");
    let (bin, started, release) = gated_bindir(s.dir.path());
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&format!("{text}[tools]\nbindir = \"{}\"\n", bin.display()));
    let run = s.replicate().args(["apply", "--auto-approve"]).spawn();
    wait_for_file(&started);
    run.signal(libc::SIGKILL);
    run.finish();
    wait_until_gone(&["gated-bin/pg_restore"]);
    // The restore went into netbox__next: the target was not touched.
    s.assert_target_untouched();
    fs::write(&release, b"").unwrap();
    let resumed = s.apply(&["--resume"]).success();
    let stdout = resumed.stdout();
    assert!(!stdout.contains("dump               started"), "{stdout}");
    assert!(stdout.contains("create             done"), "{stdout}");
    s.assert_replica_matches();
}

#[test]
fn killed_during_extract_leaves_old_or_new_media_never_a_mix() {
    let s = Scenario::new("custom", "");
    let (source, target) = s.add_media(128);
    s.apply(&["--steps", "dump,archive"]).success();
    let old = media_tree(&target);
    let mut run = s
        .replicate()
        .args([
            "apply",
            "--auto-approve",
            "--steps",
            "verify,create,restore,check,extract,swap",
        ])
        .spawn();
    wait_for_step(&mut run, &s.artifacts(), "extract", "running", 120);
    std::thread::sleep(Duration::from_millis(50));
    run.signal(libc::SIGKILL);
    run.finish();
    let now = media_tree(&target);
    assert!(
        now == old || now == media_tree(&source),
        "the media folder is a mix"
    );

    let resumed = s.apply(&["--resume"]).success();
    assert!(
        !resumed.stdout().contains("archive            started"),
        "{}",
        resumed.stdout()
    );
    s.assert_replica_matches();
    assert_eq!(media_tree(&target), media_tree(&source));
    crate::support::assert_no_staging(s.dir.path());
}

#[test]
fn sigint_and_sigterm_stop_children_journal_and_release_the_lock() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let s = Scenario::new("directory", "");
        let lock = TableLock::hold(&s.pair.source, "dcim_device");
        let run = s.replicate().args(["apply", "--auto-approve"]).spawn();
        wait_for_blocked_dump(&s.pair.source);
        run.signal(signal);
        let run = run.finish().code(1);
        let stderr = run.stderr_flat();
        let name = if signal == libc::SIGINT {
            "SIGINT"
        } else {
            "SIGTERM"
        };
        assert!(
            stderr.contains(&format!("apply stopped by {name} during dump")),
            "{stderr}"
        );
        assert!(stderr.contains("replicate apply --resume"), "{stderr}");
        assert!(
            stderr.contains("the database netbox was not touched"),
            "{stderr}"
        );
        wait_until_gone(&["pg_dump", &s.pair.source.port.to_string()]);
        drop(lock);
        let state: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(s.artifacts().join("state.json")).unwrap())
                .unwrap();
        assert_eq!(state["status"], "interrupted");
        assert_eq!(state["steps"]["dump"]["status"], "interrupted");
        assert_eq!(state["steps"]["create"]["status"], "pending");
        // The lock is free: the next run starts at once and finishes.
        s.apply(&["--resume"]).success();
        s.assert_replica_matches();
    }
}

#[test]
fn the_source_server_stopping_during_dump_is_named() {
    let s = Scenario::new("directory", "");
    let lock = TableLock::hold(&s.pair.source, "dcim_site");
    let run = s.replicate().args(["apply", "--auto-approve"]).spawn();
    wait_for_blocked_dump(&s.pair.source);
    s.pair.source.stop();
    let run = run.finish().code(1);
    drop(lock);
    let stderr = run.stderr_flat();
    assert!(
        stderr.contains("step `dump` failed: pg_dump failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "source server 127.0.0.1:{}, database netbox",
            s.pair.source.port
        )),
        "{stderr}"
    );
    s.assert_target_untouched();
    assert_not_complete(&s.artifacts(), "netbox.dir");
}

#[test]
fn the_target_server_stopping_during_restore_is_named() {
    let s = Scenario::new("directory", "");
    let (bin, started, release) = gated_bindir(s.dir.path());
    let text = fs::read_to_string(s.manifest()).unwrap();
    s.write_manifest(&format!("{text}[tools]\nbindir = \"{}\"\n", bin.display()));
    let run = s.replicate().args(["apply", "--auto-approve"]).spawn();
    wait_for_file(&started);
    s.pair.target.stop();
    fs::write(&release, b"").unwrap();
    let run = run.finish().code(1);
    let stderr = run.stderr_flat();
    assert!(
        stderr.contains("step `restore` failed: pg_restore failed"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "target server 127.0.0.1:{}, database netbox",
            s.pair.target.port
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("the database netbox was not touched"),
        "{stderr}"
    );
    s.pair.target.start_again();
    s.assert_target_untouched();
}

/// Runs replicate with a file size limit (`ulimit -f`, in KiB).
fn with_file_limit(s: &Scenario, kib: u64, args: &[&str]) -> crate::support::Run {
    let binary = env!("CARGO_BIN_EXE_replicate");
    let mut script = format!("ulimit -f {kib}; exec '{binary}' apply --auto-approve");
    for arg in args {
        script.push_str(&format!(" '{arg}'"));
    }
    Replicate::command("sh")
        .current_dir(s.dir.path())
        .args(["-c", &script])
        .run()
}

#[test]
fn a_full_disk_during_dump_fails_cleanly() {
    // replicate writes a plain dump itself; pg_dump writes a custom one
    // (it seeks back to write the data offsets) and says why it failed.
    for (format, file, why) in [
        ("plain", "netbox.sql", "a file size limit was reached"),
        ("custom", "netbox.dump", "could not write to output file"),
    ] {
        let s = Scenario::new(format, "");
        let run = with_file_limit(&s, 256, &[]).code(1);
        let stderr = run.stderr_flat();
        assert!(stderr.contains("step `dump` failed"), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
        assert!(
            !s.artifacts().join(format!("{file}.partial")).exists(),
            "the partial dump was kept"
        );
        assert_not_complete(&s.artifacts(), file);
        s.assert_target_untouched();
    }
}

#[test]
fn a_full_disk_during_extract_keeps_the_old_media() {
    let s = Scenario::new("custom", "");
    let (_, target) = s.add_media(4);
    s.apply(&["--steps", "dump,archive"]).success();
    let before = media_tree(&target);
    let run = with_file_limit(&s, 1024, &["--steps", "verify,extract"]).code(1);
    let stderr = run.stderr_flat();
    assert!(stderr.contains("step `extract` failed"), "{stderr}");
    assert!(stderr.contains("a file size limit was reached"), "{stderr}");
    assert_eq!(media_tree(&target), before, "the old media folder changed");
    crate::support::assert_no_staging(s.dir.path());
}

#[test]
fn deleted_and_truncated_artifacts_are_named_by_verify() {
    let s = Scenario::new("directory", "");
    s.apply(&["--steps", "dump"]).success();
    let file = fs::read_dir(s.artifacts().join("netbox.dir"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "dat") && fs::metadata(p).unwrap().len() > 100)
        .unwrap();
    let name = format!("netbox.dir/{}", file.file_name().unwrap().to_string_lossy());
    let f = fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(10).unwrap();
    let run = s
        .apply(&["--steps", "verify,create,restore,check,swap"])
        .code(1);
    assert!(
        run.stderr_flat()
            .contains(&format!("{name} does not match SHA256SUMS")),
        "{}",
        run.stderr()
    );
    fs::remove_file(&file).unwrap();
    let run = s
        .apply(&["--steps", "verify,create,restore,check,swap"])
        .code(1);
    assert!(
        run.stderr_flat().contains(&format!("{name} is missing")),
        "{}",
        run.stderr()
    );
    s.assert_target_untouched();
}

#[test]
fn hand_edited_newer_and_foreign_plans_are_refused() {
    let s = Scenario::new("custom", "");
    s.replicate()
        .args(["plan", "--out", "plan.json"])
        .run()
        .success();
    let plan = fs::read_to_string(s.dir.path().join("plan.json")).unwrap();

    let edited = plan.replace("--exit-on-error", "--single-transaction");
    assert_ne!(edited, plan);
    fs::write(s.dir.path().join("edited.json"), edited).unwrap();
    let run = s.replicate().args(["apply", "edited.json"]).run().code(1);
    assert!(
        run.stderr_flat().contains("is stale: its steps differ"),
        "{}",
        run.stderr()
    );
    // The message names the step and shows what changed.
    assert!(
        run.stderr_flat().contains(
            "step `restore`: its command has `--single-transaction` where the manifest now plans `--exit-on-error`"
        ),
        "{}",
        run.stderr()
    );

    let newer = plan.replace("\"format_version\": 2", "\"format_version\": 3");
    fs::write(s.dir.path().join("newer.json"), newer).unwrap();
    let run = s.replicate().args(["apply", "newer.json"]).run().code(1);
    assert!(
        run.stderr_flat().contains("has plan format version 3"),
        "{}",
        run.stderr()
    );

    let broken = &plan[..plan.len() / 2];
    fs::write(s.dir.path().join("broken.json"), broken).unwrap();
    let run = s.replicate().args(["apply", "broken.json"]).run().code(1);
    assert!(
        run.stderr_flat().contains("is not a replicate plan file"),
        "{}",
        run.stderr()
    );

    fs::write(
        s.dir.path().join("other.toml"),
        fs::read_to_string(s.manifest()).unwrap(),
    )
    .unwrap();
    let run = s
        .replicate()
        .args(["apply", "plan.json", "-m", "other.toml"])
        .run()
        .code(1);
    assert!(
        run.stderr_flat().contains("was made for"),
        "{}",
        run.stderr()
    );
    assert!(!s.artifacts().exists(), "something was written");
    s.assert_target_untouched();
}

#[test]
fn corrupt_or_foreign_state_stops_resume() {
    let s = Scenario::new("custom", "");
    s.apply(&["--steps", "dump"]).success();
    let state = s.artifacts().join("state.json");
    let good = fs::read_to_string(&state).unwrap();
    fs::write(&state, &good[..good.len() / 3]).unwrap();
    let run = s.apply(&["--resume"]).code(1);
    assert!(
        run.stderr_flat().contains("cannot resume"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr_flat().contains("state.json is corrupt"),
        "{}",
        run.stderr()
    );

    let mut value: serde_json::Value = serde_json::from_str(&good).unwrap();
    value["plan_digest"] = "0".repeat(64).into();
    fs::write(&state, value.to_string()).unwrap();
    let run = s.apply(&["--resume"]).code(1);
    assert!(
        run.stderr_flat()
            .contains("the earlier run followed another plan"),
        "{}",
        run.stderr()
    );
    s.assert_target_untouched();
}

#[test]
fn odd_names_are_quoted_everywhere() {
    let s = Scenario::new("custom", "");
    let odd = "net\"box; drop ü";
    for cluster in [&s.pair.source, &s.pair.target] {
        cluster.sql(
            "postgres",
            "CREATE ROLE \"o'brien \"\"x\"\"\" LOGIN SUPERUSER",
        );
        // Owned by the odd role, as replicate connects (a copy that would
        // change the owner is refused).
        cluster.sql(
            "postgres",
            &format!(
                "CREATE DATABASE \"{}\" OWNER \"o'brien \"\"x\"\"\"",
                odd.replace('"', "\"\"")
            ),
        );
    }
    s.pair.source.sql_file(
        odd,
        &crate::support::root().join("tests/fixtures/netbox-shaped.sql"),
    );
    s.pair
        .target
        .sql(odd, "CREATE TABLE replicate_marker (note text)");
    let encoded = "net%22box%3B%20drop%20%C3%BC";
    let user = "o%27brien%20%22x%22";
    let source = format!(
        "postgresql://{user}@127.0.0.1:{}/{encoded}",
        s.pair.source.port
    );
    let target = format!(
        "postgresql://{user}@127.0.0.1:{}/{encoded}",
        s.pair.target.port
    );
    fs::create_dir_all(s.dir.path().join("média 'src'; x")).unwrap();
    fs::write(s.dir.path().join("média 'src'; x/a b.png"), b"png").unwrap();
    s.write_manifest(&format!(
        "version = 1\n[source]\ndatabase = \"{source}\"\nmedia = \"média 'src'; x\"\n\
         [target]\ndatabase = \"{target}\"\nmedia = \"média \\\"dst\\\"\"\n\
         [include]\nexclude_table_data = [\"extras_objectchange\", \"core_objectchange\", \"django_session\"]\n\
         [artifacts]\ndir = \"art ifacts; 'ü'\"\nformat = \"directory\"\n"
    ));
    let run = s
        .replicate()
        .args(["apply", "--auto-approve"])
        .run()
        .success();
    assert!(
        run.stdout().contains("Apply complete: 8 steps"),
        "{}",
        run.stdout()
    );
    // The odd name's previous copy has the odd name too.
    assert_eq!(
        s.pair.target.sql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'net\"box; drop ü__prev'"
        ),
        "1"
    );
    crate::support::scenario::assert_replica_matches(
        &s.pair.source,
        &s.pair.target,
        odd,
        &["extras_objectchange", "core_objectchange", "django_session"],
    );
    assert_eq!(
        fs::read(s.dir.path().join("média \"dst\"/a b.png")).unwrap(),
        b"png"
    );
    assert!(
        s.dir
            .path()
            .join("art ifacts; 'ü'/net\"box; drop ü.dir")
            .is_dir()
    );
    // The other databases are untouched.
    assert_eq!(
        s.pair
            .target
            .sql("netbox", "SELECT note FROM replicate_marker"),
        "before"
    );
}

#[test]
fn a_symlinked_artifacts_folder_is_refused_and_a_readable_one_warned_about() {
    let s = Scenario::new("custom", "");
    let elsewhere = s.dir.path().join("elsewhere");
    fs::create_dir(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, s.artifacts()).unwrap();
    let run = s.apply(&[]).code(1);
    assert!(
        run.stderr_flat().contains("is a symbolic link"),
        "{}",
        run.stderr()
    );
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    s.assert_target_untouched();

    fs::remove_file(s.artifacts()).unwrap();
    fs::create_dir(s.artifacts()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(s.artifacts(), fs::Permissions::from_mode(0o755)).unwrap();
    let run = s.apply(&["--steps", "dump"]).success();
    assert!(
        run.stderr_flat()
            .contains("can be read by other users (mode 755)"),
        "{}",
        run.stderr()
    );
}

#[test]
fn a_wrong_password_fails_without_showing_it() {
    let password = "Wr0ng-but-Secret-9d";
    let s = Scenario::new("custom", "");
    s.pair.target.add_password_role("the-right-one");
    let text = fs::read_to_string(s.manifest()).unwrap();
    let right = s.pair.target.url("netbox");
    let wrong = s.pair.target.password_url("netbox", password);
    s.write_manifest(&text.replace(&right, &wrong));
    let run = s.replicate().args(["plan"]).run().code(1);
    let all = format!("{}{}", run.stdout(), run.stderr_flat());
    assert!(all.contains("password authentication failed"), "{all}");
    assert!(!all.contains(password), "the password was shown:\n{all}");
    assert!(processes_with(&[password]).is_empty());
}
