//! Catalogs compared: each kind of difference, in words.

use super::super::{Key, Kind, Rows, Table};
use super::*;

fn catalog() -> Catalog {
    let mut c = Catalog {
        encoding: "UTF8".into(),
        ..Catalog::default()
    };
    c.tables.push(Table {
        schema: "public".into(),
        name: "dcim_device".into(),
        oid: 1,
        columns: vec!["id".into()],
        rows: Some(Rows {
            rows: 20,
            sha256: Some("aa".repeat(32)),
        }),
    });
    c.sequences
        .insert(("public".into(), "dcim_device_id_seq".into()), Some(20));
    c.objects.insert(
        Key {
            kind: Kind::Index,
            schema: "public".into(),
            table: Some("dcim_device".into()),
            name: "dcim_device_name".into(),
            arguments: None,
        },
        vec![Object {
            definition: "CREATE INDEX dcim_device_name ON public.dcim_device USING btree (name)"
                .into(),
            ..Object::default()
        }],
    );
    c
}

/// The differences `compare` finds, in words.
fn shown(expected: &Catalog, found: &Catalog, how: Comparison) -> Vec<String> {
    compare(expected, found, how)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn equal_catalogs_have_no_difference() {
    let how = Comparison {
        owners: true,
        content: true,
    };
    assert!(compare(&catalog(), &catalog(), how).is_empty());
}

#[test]
fn every_difference_is_named() {
    let expected = catalog();
    let mut found = catalog();
    found.encoding = "LATIN1".into();
    found.tables[0].rows = Some(Rows {
        rows: 19,
        sha256: None,
    });
    found
        .sequences
        .insert(("public".into(), "dcim_device_id_seq".into()), None);
    found.objects.clear();
    found.objects.insert(
        Key {
            kind: Kind::Trigger,
            schema: "public".into(),
            table: Some("dcim_device".into()),
            name: "t\nx".into(),
            arguments: None,
        },
        vec![Object::default()],
    );
    assert_eq!(
        shown(&expected, &found, Comparison::default()),
        vec![
            "the encoding: expected UTF8, found LATIN1",
            "index dcim_device_name on public.dcim_device: expected present, found none",
            "trigger \"t\\nx\" on public.dcim_device: expected none, found present",
            "table public.dcim_device: expected 20 rows, found 19 rows",
            "sequence public.dcim_device_id_seq: expected value 20, found not called yet",
        ]
    );
}

#[test]
fn content_is_compared_only_when_asked() {
    let expected = catalog();
    let mut found = catalog();
    found.tables[0].rows = Some(Rows {
        rows: 20,
        sha256: Some("bb".repeat(32)),
    });
    assert!(compare(&expected, &found, Comparison::default()).is_empty());
    let how = Comparison {
        owners: false,
        content: true,
    };
    assert_eq!(
        shown(&expected, &found, how),
        vec![
            "table public.dcim_device: content: expected SHA-256 aaaaaaaaaaaa, found SHA-256 bbbbbbbbbbbb (the same rows, other values)"
        ]
    );
}

#[test]
fn an_altered_definition_names_the_line() {
    let expected = catalog();
    let mut found = catalog();
    for objects in found.objects.values_mut() {
        objects[0].definition =
            "CREATE INDEX dcim_device_name ON public.dcim_device USING hash (name)".into();
    }
    let differences = compare(&expected, &found, Comparison::default());
    assert_eq!(differences.len(), 1);
    assert!(differences[0].what.ends_with(": definition"));
    assert!(differences[0].found.contains("hash"));
}
