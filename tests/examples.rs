//! The manifests in `examples/` are valid and plan what they promise.

use crate::support::Replicate;

fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(crate::support::root().join("examples"))
        .expect("examples folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

#[test]
fn the_required_examples_exist() {
    let names = examples();
    for wanted in [
        "netbox.toml",
        "schema-only.toml",
        "media-only.toml",
        "dev-copy.toml",
    ] {
        assert!(
            names.iter().any(|n| n == wanted),
            "examples/{wanted} is missing"
        );
    }
}

#[test]
fn every_example_validates() {
    for name in examples() {
        let path = format!("examples/{name}");
        Replicate::new()
            .args(["validate", "-m", &path])
            .run()
            .success()
            .stdout_has(&format!("{path} is valid"));
    }
}

fn step_ids(manifest: &str) -> Vec<String> {
    let run = Replicate::new()
        .args(["plan", "--offline", "--json", "-m", manifest])
        .run()
        .success();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout()).expect("JSON plan");
    doc["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn each_example_plans_the_steps_it_asks_for() {
    assert_eq!(
        step_ids("examples/netbox.toml"),
        [
            "dump",
            "archive",
            "verify",
            "create",
            "restore",
            "check",
            "extract",
            "swap",
            "invalidate-target"
        ]
    );
    assert_eq!(
        step_ids("examples/schema-only.toml"),
        ["dump", "verify", "drop", "create", "restore", "check"]
    );
    assert_eq!(
        step_ids("examples/media-only.toml"),
        ["archive", "verify", "extract", "swap"]
    );
    assert_eq!(
        step_ids("examples/dev-copy.toml"),
        [
            "dump",
            "archive",
            "verify",
            "create",
            "restore",
            "check",
            "extract",
            "swap",
            "invalidate-target"
        ]
    );
}

#[test]
fn dev_copy_is_sanitized() {
    Replicate::new()
        .args([
            "plan",
            "--offline",
            "--verbose",
            "-m",
            "examples/dev-copy.toml",
        ])
        .run()
        .success()
        .stdout_has("sanitized: the rules are resolved against the source when applied")
        .stdout_has("writes .replicate-dev/netbox.sanitized")
        .stdout_has("--exclude-table-data=core_objectchange");
}

#[test]
fn schema_only_dumps_no_rows() {
    Replicate::new()
        .args([
            "plan",
            "--offline",
            "--verbose",
            "-m",
            "examples/schema-only.toml",
        ])
        .run()
        .success()
        .stdout_has("--schema-only")
        .stdout_has("Plan: 6 steps, 1 destructive (drop netbox_schema)");
}

/// The README says which Rust builds replicate, as Cargo.toml requires it,
/// and the demo shows cargo's progress and checks the version itself.
#[test]
fn the_readme_and_the_demo_name_the_rust_they_need() {
    let cargo = std::fs::read_to_string(crate::support::root().join("Cargo.toml")).unwrap();
    let version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("rust-version in Cargo.toml")
        .trim_matches('"');
    let readme = std::fs::read_to_string(crate::support::root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("Rust {version} or later")),
        "the README does not say Rust {version} or later"
    );
    assert!(
        readme.contains("rustup"),
        "the README does not say how to get Rust"
    );
    let demo = std::fs::read_to_string(crate::support::root().join("scripts/demo")).unwrap();
    let build = demo
        .lines()
        .find(|l| l.trim_start().starts_with("cargo build"))
        .expect("the demo builds replicate");
    assert!(
        !build.contains("--quiet"),
        "the demo builds silently: {build}"
    );
    assert!(
        demo.contains("rust-version"),
        "the demo does not check the Rust version"
    );
}
