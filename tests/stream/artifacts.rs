//! What the stream format writes: artifacts standard tools read, the order
//! tables are read in, statistics, and an older dump without
//! `post-data.json`.

use std::fs;

use crate::support::scenario::Scenario;

/// The dump's `tables.json`: each table's schema, name, rows and file.
fn tables_json(s: &Scenario) -> serde_json::Value {
    let path = s.artifacts().join("netbox.stream/tables.json");
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn stream_artifacts_open_with_standard_tools_and_restore_elsewhere() {
    let s = Scenario::new("stream", "");
    s.dump_only();
    let folder = s.artifacts().join("netbox.stream");
    // SQL and COPY text, as pg_dump and psql write and read them.
    let pre = fs::read_to_string(folder.join("pre-data.sql")).unwrap();
    assert!(pre.contains("CREATE TABLE public.dcim_device"), "pre-data");
    let post = fs::read_to_string(folder.join("post-data.sql")).unwrap();
    assert!(post.contains("PRIMARY KEY"), "post-data");
    let listing = tables_json(&s);
    let device = listing
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "dcim_device")
        .expect("dcim_device in tables.json");
    let rows = s
        .pair
        .source
        .sql("netbox", "SELECT count(*) FROM dcim_device");
    assert_eq!(device["rows"].to_string(), rows);
    let text = fs::read_to_string(folder.join(device["file"].as_str().unwrap())).unwrap();
    assert_eq!(text.lines().count().to_string(), rows);
    // No data for the tables left out.
    assert!(
        !listing
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["table"] == "core_objectchange"),
        "{listing}"
    );

    // Carried to another folder (another machine), they restore there.
    let elsewhere = s.dir.path().join("carried");
    fs::rename(s.artifacts(), &elsewhere).unwrap();
    s.edit_manifest(|text| format!("{text}dir = \"carried\"\n"));
    s.apply(&["--steps", "verify,create,restore,check,swap"])
        .success()
        .stdout_has("equal to the dump");
    s.assert_replica_matches();
}

#[test]
fn under_replace_nothing_streams() {
    let s = Scenario::new("stream", "");
    s.edit_manifest(|text| text.replace("[target]\n", "[target]\nstrategy = \"replace\"\n"));
    s.replicate()
        .args(["plan"])
        .run()
        .success()
        .stdout_has("under replace nothing streams: it waits for verify");
    s.apply(&[]).success();
    s.assert_replica_matches();
}

#[test]
fn a_stream_dump_without_post_data_json_restores_its_post_data_whole() {
    let s = Scenario::new("stream", "");
    s.apply(&["--steps", "dump"]).success();
    // As an older replicate left it: no post-data.json, nor its sum.
    fs::remove_file(s.artifacts().join("netbox.stream/post-data.json")).unwrap();
    let sums = s.artifacts().join("SHA256SUMS");
    let kept: String = fs::read_to_string(&sums)
        .unwrap()
        .lines()
        .filter(|l| !l.ends_with("/post-data.json"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&sums, kept).unwrap();
    s.apply(&["--steps", "verify,create,restore,check,swap"])
        .success()
        .stdout_has("no post-data.json beside it");
    s.assert_replica_matches();
}

#[test]
fn the_replica_comes_with_the_statistics_of_its_tables() {
    let s = Scenario::new("stream", "");
    s.apply(&[]).success();
    // What the planner knows of each table: the rows ANALYZE counted
    // (every row, in tables this small).
    let analyzed = s.pair.target.sql(
        "netbox",
        "SELECT string_agg(format('%s.%s=%s', n.nspname, c.relname, c.reltuples::bigint), ' ') \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind = 'r' AND n.nspname <> 'pg_catalog' AND EXISTS (SELECT 1 FROM pg_statistic WHERE starelid = c.oid)",
    );
    let analyzed: Vec<&str> = analyzed.split(' ').collect();
    let listing = tables_json(&s);
    let mut loaded = 0;
    for table in listing.as_array().unwrap() {
        let rows = table["rows"].as_u64().unwrap();
        if rows > 0 {
            let expected = format!(
                "{}.{}={rows}",
                table["schema"].as_str().unwrap(),
                table["table"].as_str().unwrap()
            );
            assert!(
                analyzed.contains(&expected.as_str()),
                "{expected} in {analyzed:?}"
            );
            loaded += 1;
        }
    }
    assert!(loaded > 10, "{listing}");
}

#[test]
fn a_table_with_a_large_index_is_read_before_a_larger_table_without() {
    let s = Scenario::new("stream", "");
    // `plain` has more rows; `keyed` fewer, but an index as large as its
    // rows, which its restore must build after loading them.
    s.add_big_table("plain", 12_000, 2);
    s.add_big_table("keyed", 8_000, 2);
    s.pair.source.sql(
        "netbox",
        "CREATE INDEX keyed_body ON public.keyed (body, id)",
    );
    let size = |sql: &str| -> i64 { s.pair.source.sql("netbox", sql).parse().unwrap() };
    let plain = size("SELECT pg_relation_size('public.plain')");
    let keyed_rows = size("SELECT pg_relation_size('public.keyed')");
    let keyed_index = size("SELECT pg_relation_size('public.keyed_body')");
    assert!(
        keyed_rows < plain && keyed_rows + keyed_index > plain,
        "the sizes do not test the order: plain {plain}, keyed {keyed_rows} + {keyed_index}"
    );

    s.apply(&["--steps", "dump"]).success();
    let listing = tables_json(&s);
    let order: Vec<&str> = listing
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["table"].as_str())
        .filter(|t| ["plain", "keyed"].contains(t))
        .collect();
    assert_eq!(order, ["keyed", "plain"], "{listing}");
}
