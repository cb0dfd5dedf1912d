//! Secrets in a run: passwords and values from the environment reach only
//! the programs that need them, never command lines, output or files; and
//! the invalidation commands that receive them.

use std::path::Path;
use std::time::Duration;

use crate::support::scenario::Scenario;
use crate::support::{assert_holds, assert_no_cmdline_contains};

#[test]
fn passwords_never_reach_command_lines_output_or_files() {
    // psql and pg_restore take it from their environment; the stream
    // format's own connections from libpq's settings.
    for format in ["plain", "stream"] {
        passwords_never_leak_in(format);
    }
}

fn passwords_never_leak_in(format: &str) {
    // Every process of the machine is searched for it: one of this test
    // binary's own, not one another run of the tests may use at once.
    let password = &format!("s3cr3t-Horse-{}", std::process::id());
    let s = Scenario::new(format, "");
    s.pair.target.add_password_role(password);
    s.pair.target.sql("postgres", "DROP DATABASE netbox");
    s.pair
        .target
        .sql("postgres", "CREATE DATABASE netbox OWNER replicator");
    let source = s.pair.source.url("netbox");
    let target = s.pair.target.password_url("netbox", "${TARGET_PASSWORD}");
    s.write_manifest(&format!(
        "version = 1\n[source]\ndatabase = \"{source}\"\n[target]\ndatabase = \"{target}\"\n\
         [include]\nexclude_table_data = [\"extras_objectchange\"]\n[artifacts]\nformat = \"{format}\"\n"
    ));
    let child = s
        .replicate()
        .env("TARGET_PASSWORD", password)
        .args(["apply", "--auto-approve"])
        .spawn();
    let mut seen = 0;
    while child.is_running() {
        seen += assert_no_cmdline_contains(password);
        std::thread::sleep(Duration::from_millis(2));
    }
    let run = child.finish().success();
    assert!(seen > 0, "no process was observed");
    for text in [run.stdout(), run.stderr()] {
        assert!(
            !text.contains(password),
            "the password was printed:\n{text}"
        );
    }
    assert!(run.stdout().contains("replicator:***@"), "{}", run.stdout());
    for entry in walkdir::WalkDir::new(s.dir.path()).into_iter().flatten() {
        if entry.file_type().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(password),
                "{} holds the password",
                entry.path().display()
            );
        }
    }
    // The password really was used: the replica is owned by the role.
    assert_eq!(
        s.pair.target.sql(
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'netbox'"
        ),
        "replicator"
    );
}

#[test]
fn invalidate_commands_run_in_the_manifest_folder_and_fail_the_run() {
    let s = Scenario::new("custom", "");
    let source = r#"["sh", "-c", "pwd > source-cache-cleared"]"#;
    let target = r#"["sh", "-c", "pwd > target-reindexed; printf %s \"$1\" > token", "sh", "${CACHE_TOKEN}"]"#;
    s.edit_manifest(|text| {
        text.replace(
            "[target]\n",
            &format!("invalidate = {source}\n[target]\ninvalidate = {target}\n"),
        )
    });
    let token = "tok-5ecret-value";
    let plan = s
        .replicate()
        .env("CACHE_TOKEN", token)
        .args(["plan", "--verbose", "--out", "plan.json"])
        .run()
        .success();
    let run = s
        .replicate()
        .env("CACHE_TOKEN", token)
        .args(["apply", "plan.json"])
        .run()
        .success();
    let run = run.stdout_has("Apply complete: 8 steps");
    let folder = s.dir.path().canonicalize().unwrap();
    for file in ["source-cache-cleared", "target-reindexed"] {
        let written = std::fs::read_to_string(s.dir.path().join(file)).unwrap();
        assert_eq!(Path::new(written.trim()).canonicalize().unwrap(), folder);
    }
    // Only the child got the value; plans and output show `${CACHE_TOKEN}`.
    assert_eq!(
        std::fs::read_to_string(s.dir.path().join("token")).unwrap(),
        token
    );
    assert!(
        plan.stdout().contains("sh '${CACHE_TOKEN}'"),
        "{}",
        plan.stdout()
    );
    for text in [
        plan.stdout(),
        run.stdout(),
        run.stderr(),
        std::fs::read_to_string(s.dir.path().join("plan.json")).unwrap(),
        std::fs::read_to_string(s.artifacts().join("state.json")).unwrap(),
    ] {
        assert!(!text.contains(token), "the value leaked:\n{text}");
    }
    s.assert_replica_matches();

    // A failing invalidation stops the run before anything is dumped.
    let t = Scenario::new("custom", "");
    t.edit_manifest(|text| {
        text.replace(
            "[target]\n",
            "invalidate = [\"sh\", \"-c\", \"echo cache is locked for $1 >&2; exit 3\", \"sh\", \"${CACHE_TOKEN}\"]\n[target]\n",
        )
    });
    let run = t
        .replicate()
        .env("CACHE_TOKEN", token)
        .args(["apply", "--auto-approve"])
        .run()
        .code(1);
    let stderr = run.stderr_flat();
    assert_holds(
        &stderr,
        &[
            "step `invalidate-source` failed: sh failed (exit status 3)",
            // What the child printed hides the value again.
            "cache is locked for ${CACHE_TOKEN}",
        ],
    );
    assert!(!run.stdout().contains(token) && !stderr.contains(token));
    t.assert_target_untouched();
    assert!(!t.artifacts().join("netbox.dump").exists());
}
