//! Property tests of manifest parsing and validation: no input, however
//! broken, makes replicate panic, and every refusal renders as a diagnostic.
//! The number of cases is bounded (PROPTEST_CASES overrides it).

use std::path::Path;

use miette::{GraphicalReportHandler, GraphicalTheme};
use proptest::prelude::*;
use replicate::manifest::Manifest;
use replicate::manifest::SourceFile;

fn check(text: &str) {
    let env = |name: &str| (name == "SET").then(|| "value".to_owned());
    let result = Manifest::parse(
        SourceFile::new("fuzz.toml", text),
        Path::new("/etc/replicate/fuzz.toml"),
        &env,
    );
    if let Err(diagnostic) = result {
        let mut out = String::new();
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(80)
            .render_report(&mut out, &diagnostic)
            .expect("the diagnostic renders");
        assert!(!out.is_empty());
        for problem in diagnostic.all() {
            assert!(!problem.message().is_empty());
        }
    }
}

const VALID: &str = r#"version = 1

[source]
database = "postgresql://netbox:${SET}@db.prod.example.net:5432/netbox"
media = "/opt/netbox/netbox/media"
invalidate = ["python3", "manage.py", "clearcache"]

[target]
database = "postgresql://netbox@db.staging.example.net/netbox"
media = "/srv/netbox/netbox/media"
terminate_connections = true
maintenance_database = "postgres"

[include]
database = "full"
exclude_table_data = ["extras_objectchange", "core_objectchange"]
media = true
owners = false

[artifacts]
dir = ".replicate"
format = "directory"
compression = "zstd"
jobs = 2

[tools]
bindir = "/usr/lib/postgresql/16/bin"
"#;

/// Pieces that make plausible-looking but often wrong manifests.
const TOKENS: &[&str] = &[
    "[source]",
    "[target]",
    "[include]",
    "[artifacts]",
    "[tools]",
    "[[source]]",
    "version = 2",
    "database = ",
    "media = ",
    "\"",
    "'",
    "${",
    "$${",
    "${UNSET}",
    "}",
    "=",
    "[",
    "]",
    "{",
    ",",
    "\n",
    "postgresql://",
    "@",
    ":",
    "/",
    "%",
    "%zz",
    "true",
    "-1",
    "99999999999999999999",
    "1e3",
    "\u{0}",
    "\u{feff}",
    "é",
    "\\u0000",
    "\"\"\"",
    "#",
    "jobs = 0",
    "format = \"tar\"",
];

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(20_000),
        failure_persistence: None,
        .. ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check(&text);
    }

    #[test]
    fn mutated_manifests_never_panic(
        edits in prop::collection::vec((0usize..2000, 0usize..40, 0usize..TOKENS.len(), 0u8..3), 1..8)
    ) {
        let mut text = VALID.to_owned();
        for (at, len, token, kind) in edits {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            match kind {
                0 => text.insert_str(at, TOKENS[token]),
                1 => {
                    let mut end = (at + len).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                }
                _ => {
                    let line = text[at..].lines().next().unwrap_or("").to_owned();
                    text.insert_str(at, &format!("{line}\n"));
                }
            }
        }
        check(&text);
    }
}

#[test]
fn the_base_manifest_is_valid() {
    let env = |name: &str| (name == "SET").then(|| "value".to_owned());
    Manifest::parse(
        SourceFile::new("v.toml", VALID),
        Path::new("/etc/v.toml"),
        &env,
    )
    .expect("valid");
}
