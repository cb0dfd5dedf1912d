//! Hostile input: names that need quoting everywhere, and a password that
//! must not show even when it is wrong.

use std::fs;

use crate::support::scenario::{Scenario, assert_replica_matches};
use crate::support::{processes_with, root};

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
    s.pair
        .source
        .sql_file(odd, &root().join("tests/fixtures/netbox-shaped.sql"));
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
    s.apply(&[]).success().stdout_has("Apply complete: 8 steps");
    // The odd name's previous copy has the odd name too.
    assert_eq!(
        s.pair.target.sql(
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname = 'net\"box; drop ü__prev'"
        ),
        "1"
    );
    assert_replica_matches(
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
