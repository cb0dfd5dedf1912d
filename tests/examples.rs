//! The manifests in `examples/` are valid and plan what they promise.

use crate::support::{EVERY_STEP, Replicate, Run};

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
    // Every step but invalidating the source's caches.
    let full_copy = &EVERY_STEP[1..];
    assert_eq!(step_ids("examples/netbox.toml"), full_copy);
    assert_eq!(
        step_ids("examples/schema-only.toml"),
        ["dump", "verify", "drop", "create", "restore", "check"]
    );
    assert_eq!(
        step_ids("examples/media-only.toml"),
        ["archive", "verify", "extract", "swap"]
    );
    assert_eq!(step_ids("examples/dev-copy.toml"), full_copy);
}

/// `plan --offline --verbose` of `manifest`, which must succeed.
fn verbose_plan(manifest: &str) -> Run {
    Replicate::new()
        .args(["plan", "--offline", "--verbose", "-m", manifest])
        .run()
        .success()
}

#[test]
fn dev_copy_is_sanitized() {
    verbose_plan("examples/dev-copy.toml")
        .stdout_has("sanitized: the rules are resolved against the source when applied")
        .stdout_has("writes .replicate-dev/netbox.sanitized")
        .stdout_has("--exclude-table-data=core_objectchange");
}

#[test]
fn schema_only_dumps_no_rows() {
    verbose_plan("examples/schema-only.toml")
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

/// The `--steps` lists a CI file runs.
fn ci_step_lists(text: &str) -> Vec<Vec<String>> {
    text.split("--steps ")
        .skip(1)
        .map(|rest| {
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .split(',')
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

#[test]
fn the_ci_examples_run_a_valid_manifest_and_every_step_once() {
    let manifest = "examples/ci/replicate.toml";
    let text = std::fs::read_to_string(crate::support::root().join(manifest)).unwrap();
    let variables: Vec<&str> = text
        .split("${")
        .skip(1)
        .filter_map(|rest| rest.split('}').next())
        .collect();
    assert!(
        variables.contains(&"PRODUCTION_DB_PASSWORD"),
        "{variables:?}"
    );
    let mut validate = Replicate::new().args(["validate", "-m", manifest]);
    for name in &variables {
        validate = validate.env(name, "from-ci");
    }
    validate
        .run()
        .success()
        .stdout_has(&format!("{manifest} is valid"));
    let mut plan = Replicate::new().args(["plan", "--offline", "--json", "-m", manifest]);
    for name in &variables {
        plan = plan.env(name, "from-ci");
    }
    let doc: serde_json::Value = serde_json::from_str(&plan.run().success().stdout()).unwrap();
    let mut planned: Vec<String> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    planned.sort();
    assert!(
        doc["artifacts_store"]
            .as_str()
            .is_some_and(|s| s.starts_with("s3://")),
        "the CI manifest publishes to an object store"
    );

    for file in [
        "examples/ci/github-actions.yml",
        "examples/ci/gitlab-ci.yml",
    ] {
        let ci = std::fs::read_to_string(crate::support::root().join(file)).unwrap();
        assert!(ci.contains(manifest), "{file} does not use {manifest}");
        // Every variable the manifest needs, and the store's keys, come
        // from the CI system's secrets.
        for name in variables
            .iter()
            .copied()
            .chain(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"])
        {
            assert!(ci.contains(name), "{file} never provides {name}");
        }
        // A publishing job and a restoring job that together run every
        // step of the plan once: the first reaches only the source.
        let lists = ci_step_lists(&ci);
        assert_eq!(lists.len(), 2, "{file}: {lists:?}");
        assert_eq!(lists[0], ["dump", "archive"], "{file}");
        let mut all: Vec<String> = lists.concat();
        all.sort();
        assert_eq!(all, planned, "{file} does not run every planned step once");
    }
}
