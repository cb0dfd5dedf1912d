//! The stream restore follows its dump: an edge of the plan's graph (the
//! restore starts once the dump has started, and reads what it writes),
//! shown by `graph` and the plan, and honoured by the scheduler at any
//! parallelism.

use replicate::plan::document::PlanDocument;

use crate::support::scenario::Scenario;
use crate::support::{Replicate, root};

/// The manifest of every step of the swap strategy, in the stream
/// format, under `strategy`, written into `dir`.
fn stream_manifest(dir: &std::path::Path, strategy: &str) -> std::path::PathBuf {
    let every = std::fs::read_to_string(root().join("tests/manifests/every-step.toml")).unwrap();
    let text = every
        .replace(
            "[target]\n",
            &format!("[target]\nstrategy = \"{strategy}\"\n"),
        )
        .replace(
            "[include]\n",
            "[artifacts]\nformat = \"stream\"\n\n[include]\n",
        );
    let path = dir.join(format!("{strategy}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn replicate_stdout(args: &[&str], manifest: &std::path::Path) -> String {
    Replicate::new()
        .args(args)
        .args(["-m", manifest.to_str().unwrap()])
        .run()
        .success()
        .stdout()
}

#[test]
fn graph_shows_the_stream_restore_following_the_dump() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = stream_manifest(dir.path(), "swap");
    let dot = replicate_stdout(&["graph", "--format", "dot"], &manifest);
    assert!(
        dot.contains("\"dump\" -> \"restore\" [style=dashed, label=\"follows\"];"),
        "{dot}"
    );
    // Not an "after" edge: the restore does not wait for the dump's end.
    assert!(!dot.contains("\"dump\" -> \"restore\";"), "{dot}");
    assert!(dot.contains("\"create\" -> \"restore\";"), "{dot}");
    let mermaid = replicate_stdout(&["graph", "--format", "mermaid"], &manifest);
    assert!(mermaid.contains("dump -.->|follows| restore"), "{mermaid}");
    assert!(!mermaid.contains("dump --> restore"), "{mermaid}");

    // The plan says so too, next to what the restore runs after.
    let text = replicate_stdout(&["plan", "--offline"], &manifest);
    assert!(
        text.contains("restore  after create; follows dump"),
        "{text}"
    );
    let json = replicate_stdout(&["plan", "--offline", "--json"], &manifest);
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    let restore = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "restore")
        .expect("a restore step");
    assert_eq!(restore["depends_on"], serde_json::json!(["create"]));
    assert_eq!(restore["follows"], serde_json::json!(["dump"]));

    // Under replace nothing streams: no step follows another.
    let replace = stream_manifest(dir.path(), "replace");
    let dot = replicate_stdout(&["graph", "--format", "dot"], &replace);
    assert!(!dot.contains("follows"), "{dot}");
    assert!(dot.contains("\"dump\" -> \"verify\";"), "{dot}");
}

#[test]
fn a_plan_saved_without_follows_still_loads_and_keeps_its_digest() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = stream_manifest(dir.path(), "swap");
    let saved = dir.path().join("plan.json");
    Replicate::new()
        .args(["plan", "--offline", "--out", saved.to_str().unwrap()])
        .args(["-m", manifest.to_str().unwrap()])
        .run()
        .success();
    let text = std::fs::read_to_string(&saved).unwrap();
    let now = PlanDocument::parse("plan.json", &text).unwrap();
    // As a replicate that did not draw the edge wrote it.
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    for step in value["steps"].as_array_mut().unwrap() {
        step.as_object_mut().unwrap().remove("follows");
    }
    let older = PlanDocument::parse("plan.json", &value.to_string()).unwrap();
    assert!(older.steps.iter().all(|s| s.follows.is_empty()));
    assert_eq!(older.digest(), now.digest());
    Replicate::new()
        .args(["show", saved.to_str().unwrap()])
        .run()
        .success();
}

#[test]
fn a_stream_apply_one_step_at_a_time_restores_after_the_dump() {
    // Under swap (the default) the restore follows the dump; one step at
    // a time, it starts once the dump has ended, and reads its files
    // through the same hub.
    let s = Scenario::new("stream", "");
    s.apply(&["--parallelism", "1"]).success();
    s.assert_replica_matches();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.artifacts().join("state.json")).unwrap()).unwrap();
    let at = |step: &str, when: &str| state["steps"][step][when].as_str().unwrap().to_owned();
    assert!(
        at("dump", "finished_at") <= at("restore", "started_at"),
        "{state}"
    );
}
