//! The offline commands: plan, show, graph, schema, and the exit codes.

use crate::support::{EVERY_STEP, Replicate, manifest_folder, redact_root, root};

/// A manifest with every step of the swap strategy.
const NETBOX: &str = "tests/manifests/every-step.toml";

#[test]
fn plan_prints_every_step_in_order_with_a_summary() {
    let run = Replicate::new()
        .args(["plan", "--offline", "-m", NETBOX])
        .run()
        .success();
    let stdout = run.stdout();
    let mut last = 0;
    for (number, id) in EVERY_STEP.iter().enumerate() {
        let heading = format!("{:>2}. {id}", number + 1);
        let at = stdout
            .find(&heading)
            .unwrap_or_else(|| panic!("no `{heading}` in:\n{stdout}"));
        assert!(at >= last, "{id} out of order");
        last = at;
    }
    assert!(stdout.contains("Plan: 10 steps, 1 destructive (replace netbox, replace media)"));
    assert!(!stdout.contains('\u{1b}'), "colours without a terminal");
    insta::assert_snapshot!(redact_root(&stdout));
    assert_fits_100_columns(&stdout);

    // --verbose adds every command, folded the way a shell reads it.
    let verbose = Replicate::new()
        .args(["plan", "--offline", "--verbose", "-m", NETBOX])
        .run()
        .success()
        .stdout();
    assert!(
        verbose.contains("$ PGAPPNAME=replicate pg_dump --no-password"),
        "{verbose}"
    );
    assert!(verbose.contains(" \\\n"), "no folded command:\n{verbose}");
    assert_fits_100_columns(&verbose);
}

/// Every line is at most 100 characters, but for a single word (a path)
/// that cannot be broken.
#[track_caller]
fn assert_fits_100_columns(text: &str) {
    for line in text.lines() {
        let words = line.split_whitespace().count();
        assert!(
            line.chars().count() <= 100 || words <= 2,
            "a line of {} characters:\n{line}",
            line.chars().count()
        );
    }
}

#[test]
fn plan_without_a_manifest_explains_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    Replicate::new()
        .current_dir(dir.path())
        .args(["plan", "--offline"])
        .run()
        .code(1)
        .stderr_has("cannot read the manifest replicate.toml")
        .stderr_has("REPLICATE_MANIFEST");
}

#[test]
fn the_manifest_can_come_from_the_environment() {
    Replicate::new()
        .env("REPLICATE_MANIFEST", NETBOX)
        .args(["validate"])
        .run()
        .success()
        .stdout_has("tests/manifests/every-step.toml is valid: 10 steps");
}

#[test]
fn json_and_out_write_the_same_plan_and_show_reads_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("plan.json");
    let run = Replicate::new()
        .args(["plan", "--offline", "--json", "-m", NETBOX, "--out"])
        .args([&out])
        .run()
        .success();
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(run.stdout(), written);

    let doc: serde_json::Value = serde_json::from_str(&written).unwrap();
    assert_eq!(doc["format_version"], 3);
    assert_eq!(doc["replicate_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["steps"].as_array().unwrap().len(), 10);
    assert_eq!(doc["manifest"]["sha256"].as_str().unwrap().len(), 64);
    let manifest_bytes = std::fs::read(root().join(NETBOX)).unwrap();
    use sha2::Digest;
    assert_eq!(
        doc["manifest"]["sha256"],
        hex::encode(sha2::Sha256::digest(&manifest_bytes))
    );

    let shown = Replicate::new()
        .args(["show", "--json"])
        .args([&out])
        .run()
        .success();
    assert_eq!(shown.stdout(), written);

    let text_plan = Replicate::new()
        .args(["plan", "--offline", "-m", NETBOX])
        .run()
        .success();
    let text_show = Replicate::new().args(["show"]).args([&out]).run().success();
    assert_eq!(text_show.stdout(), text_plan.stdout());
}

#[test]
fn two_plans_of_one_manifest_differ_only_in_their_time() {
    let plan = || {
        let run = Replicate::new()
            .args(["plan", "--offline", "--json", "-m", NETBOX])
            .run()
            .success();
        let mut doc: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
        doc["created_at"] = serde_json::Value::Null;
        doc
    };
    assert_eq!(plan(), plan());
}

#[test]
fn show_refuses_what_is_not_a_plan() {
    let dir = tempfile::tempdir().unwrap();
    // `replicate show` of a file holding `text`, which must fail.
    let show = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        Replicate::new().args(["show"]).args([&path]).run().code(1)
    };
    show("bad.json", "{\"format_version\": 3, \"steps\": 3}\n")
        .stderr_has("is not a replicate plan file");
    show("newer.json", "{\"format_version\": 7}\n")
        .stderr_has("has plan format version 7; this replicate reads version 3")
        .stderr_has("newer replicate");
    // A plan saved by a replicate before the actions carried their facts.
    show("older.json", "{\"format_version\": 2, \"steps\": []}\n")
        .stderr_has("has plan format version 2; this replicate reads version 3")
        .stderr_has("plan again with this replicate");

    Replicate::new()
        .args(["show", "does-not-exist.json"])
        .run()
        .code(1)
        .stderr_has("cannot read the plan file does-not-exist.json");
}

#[test]
fn detailed_exitcode_is_2_when_there_is_work() {
    Replicate::new()
        .args(["plan", "--offline", "--detailed-exitcode", "-m", NETBOX])
        .run()
        .code(2);
}

/// `replicate graph --format FORMAT` of the every-step manifest.
fn graph(format: &str) -> String {
    Replicate::new()
        .args(["graph", "--format", format, "-m", NETBOX])
        .run()
        .success()
        .stdout()
}

#[test]
fn graph_dot_has_every_edge_of_the_design() {
    let dot = graph("dot");
    for edge in [
        ("invalidate-source", "dump"),
        ("dump", "verify"),
        ("archive", "verify"),
        ("verify", "create"),
        ("create", "restore"),
        ("restore", "check"),
        ("check", "swap"),
        ("verify", "extract"),
        ("extract", "swap"),
        ("swap", "invalidate-target"),
    ] {
        let line = format!("\"{}\" -> \"{}\";", edge.0, edge.1);
        assert!(dot.contains(&line), "missing {line} in\n{dot}");
    }
    assert_eq!(
        dot.matches(" -> ").count(),
        10,
        "unexpected edges in\n{dot}"
    );
    insta::assert_snapshot!(dot);
}

#[test]
fn graph_mermaid_is_a_flowchart() {
    let text = graph("mermaid");
    assert!(text.starts_with("flowchart LR\n"));
    assert_eq!(text.matches(" --> ").count(), 10);
    insta::assert_snapshot!(text);
}

#[test]
fn schema_equals_the_committed_schema_file() {
    let run = Replicate::new().args(["schema"]).run().success();
    let committed = std::fs::read_to_string(root().join("schemas/replicate.schema.json"))
        .expect("schemas/replicate.schema.json");
    assert_eq!(
        run.stdout(),
        committed,
        "schemas/replicate.schema.json is stale: run `cargo run -- schema > schemas/replicate.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).unwrap();
    let required = schema["required"].as_array().unwrap();
    for key in ["version", "source", "target"] {
        assert!(required.iter().any(|r| r == key), "{key} not required");
    }
}

#[test]
fn plan_schema_equals_the_committed_file() {
    let path = root().join("schemas/plan.schema.json");
    if std::env::var_os("REPLICATE_BLESS_SCHEMAS").is_some() {
        std::fs::write(&path, replicate::plan::document::json_schema()).unwrap();
    }
    let committed = std::fs::read_to_string(root().join("schemas/plan.schema.json"))
        .expect("schemas/plan.schema.json");
    assert_eq!(
        replicate::plan::document::json_schema(),
        committed,
        "schemas/plan.schema.json is stale: run `cargo test` with REPLICATE_BLESS_SCHEMAS=1"
    );
}

#[test]
fn usage_errors_exit_64() {
    Replicate::new().args(["frobnicate"]).run().code(64);
    Replicate::new()
        .args(["plan", "--frobnicate"])
        .run()
        .code(64);
    Replicate::new()
        .args(["graph", "--format", "png"])
        .run()
        .code(64);
    Replicate::new().args(["show"]).run().code(64);
    Replicate::new()
        .args(["apply", "--steps", "dump,bogus"])
        .run()
        .code(64)
        .stderr_has("unknown step `bogus`");
    Replicate::new()
        .args(["apply", "--parallelism", "0"])
        .run()
        .code(64);
    Replicate::new().run().code(64);
}

#[test]
fn help_and_version_exit_0() {
    Replicate::new()
        .args(["--help"])
        .run()
        .success()
        .stdout_has("validate");
    Replicate::new()
        .args(["--version"])
        .run()
        .success()
        .stdout_has(env!("CARGO_PKG_VERSION"));
}

#[test]
fn warnings_do_not_fail_validation() {
    let dir = manifest_folder(
        "version = 1\n[source]\ndatabase = \"postgresql://u:literal@prod/netbox\"\nmedia = \"m\"\n[target]\ndatabase = \"postgresql://u@staging/netbox\"\n",
    );
    Replicate::new()
        .current_dir(dir.path())
        .args(["validate"])
        .run()
        .success()
        .stdout_has("replicate.toml is valid: 6 steps, 2 warnings")
        .stderr_has("the source database password is written in the manifest")
        .stderr_has("only one media folder is set");
}

#[test]
fn passwords_never_show_in_plans() {
    let dir = manifest_folder(
        "version = 1\n[source]\ndatabase = \"postgresql://u:${SRC_PW}@prod/netbox\"\n[target]\ndatabase = \"postgresql://u:${DST_PW}@staging/netbox?password=${DST_PW}\"\n[artifacts]\nformat = \"plain\"\n",
    );
    let secret_src = "correct-horse-battery";
    let secret_dst = "tr0ub4dor-and-3";
    let out = dir.path().join("plan.json");
    let mut outputs = Vec::new();
    for args in [
        vec!["plan", "--offline", "--verbose"],
        vec!["plan", "--offline", "--json", "--out", "plan.json"],
        vec!["graph"],
        vec!["validate"],
    ] {
        let run = Replicate::new()
            .current_dir(dir.path())
            .env("SRC_PW", secret_src)
            .env("DST_PW", secret_dst)
            .args(args)
            .run()
            .success();
        outputs.push(run.stdout());
        outputs.push(run.stderr());
    }
    outputs.push(std::fs::read_to_string(out).unwrap());
    for text in &outputs {
        assert!(
            !text.contains(secret_src),
            "source password leaked:\n{text}"
        );
        assert!(
            !text.contains(secret_dst),
            "target password leaked:\n{text}"
        );
    }
    assert!(outputs[0].contains("postgresql://u:***@prod/netbox"));
    assert!(outputs[0].contains("PGPASSWORD=***"));
}

#[test]
fn a_bindir_pointing_nowhere_is_named_not_blamed_on_the_password() {
    let dir = manifest_folder(
        "version = 1\n[source]\ndatabase = \"postgresql://u@127.0.0.1:1/netbox\"\n[target]\ndatabase = \"postgresql://u@127.0.0.1:2/netbox\"\n[tools]\nbindir = \"/nonexistent/pg/bin\"\n",
    );
    let replicate = |command: &str| {
        Replicate::new()
            .current_dir(dir.path())
            .args([command])
            .run()
    };
    replicate("validate")
        .success()
        .stderr_has("tools.bindir /nonexistent/pg/bin does not exist on this machine");
    let run = replicate("plan").code(1);
    let stderr = run.stderr_flat();
    assert!(
        stderr.contains("tools.bindir /nonexistent/pg/bin does not exist")
            && stderr.contains("replicate.toml:7:10")
            && stderr.contains("pg_dump found on this machine: pg_dump "),
        "{stderr}"
    );
    assert!(!stderr.contains("password"), "{stderr}");

    // A folder that exists but lacks a program is named too.
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::fs::write(bin.join("psql"), "").unwrap();
    let text = std::fs::read_to_string(dir.path().join("replicate.toml")).unwrap();
    std::fs::write(
        dir.path().join("replicate.toml"),
        text.replace("/nonexistent/pg/bin", "bin"),
    )
    .unwrap();
    replicate("plan").code(1).stderr_has("has no pg_dump");
}
