//! Keys, constraints and post-data as pg_dump wrote them, even under names
//! and texts built to mislead a reader of the SQL.

use std::fs;

use crate::support::fidelity::{Reading, fingerprint};
use crate::support::fidelity_diff::differences;
use crate::support::scenario::Scenario;

#[test]
fn keys_come_out_as_pg_dump_wrote_them() {
    keys_come_out_as_written("stream");
}

#[test]
fn keys_come_out_as_pg_dump_wrote_them_in_directory_format() {
    keys_come_out_as_written("directory");
}

fn keys_come_out_as_written(format: &str) {
    let s = Scenario::new(format, "");
    // Keys of every shape: some the restore builds as unique indexes
    // first (deferrable ones too, odd names), some it must leave as they
    // are (INCLUDE, NULLS NOT DISTINCT, WITH, a CLUSTER ON, a check, a
    // foreign key not valid), and foreign keys of and to a partitioned
    // table, and a row trigger on it.
    s.pair.source.sql(
        "netbox",
        "ALTER TABLE dcim_site ADD CONSTRAINT \"site key (1)\" UNIQUE (slug, id) DEFERRABLE INITIALLY DEFERRED;
         ALTER TABLE dcim_site ADD CONSTRAINT site_name_later UNIQUE (name, id) DEFERRABLE;
         ALTER TABLE dcim_site ADD CONSTRAINT site_included UNIQUE (id) INCLUDE (name);
         ALTER TABLE dcim_site ADD CONSTRAINT site_nulls UNIQUE NULLS NOT DISTINCT (description, id);
         ALTER TABLE dcim_site ADD CONSTRAINT site_filled UNIQUE (slug) WITH (fillfactor = 70);
         ALTER TABLE dcim_site CLUSTER ON site_filled;
         ALTER TABLE dcim_site ADD CONSTRAINT site_checked CHECK (id > 0) NOT VALID;
         ALTER TABLE dcim_device ADD CONSTRAINT device_site_later FOREIGN KEY (site_id) REFERENCES dcim_site (id) NOT VALID;
         CREATE TABLE site_log (id bigint NOT NULL, at date NOT NULL, site_id bigint REFERENCES dcim_site (id), PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
         CREATE TABLE site_log_2026 PARTITION OF site_log FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
         INSERT INTO site_log SELECT g, '2026-06-01', (SELECT min(id) FROM dcim_site) FROM generate_series(1, 50) g;
         CREATE TABLE site_log_note (id serial PRIMARY KEY, log_id bigint, log_at date, FOREIGN KEY (log_id, log_at) REFERENCES site_log (id, at));
         INSERT INTO site_log_note (log_id, log_at) VALUES (1, '2026-06-01');
         CREATE FUNCTION site_log_kept() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
         CREATE TRIGGER site_log_kept BEFORE INSERT ON site_log FOR EACH ROW EXECUTE FUNCTION site_log_kept();",
    );
    s.apply(&[]).success();
    // The definitions, flags and constraint indexes compared one by one.
    s.assert_replica_matches();
    let keys = s.pair.target.facts("netbox").keys;
    assert!(
        keys["constraint dcim_site site key (1)"].ends_with(
            "UNIQUE (slug, id) DEFERRABLE INITIALLY DEFERRED deferrable=true deferred=true index=\"site key (1)\""
        ),
        "{keys:?}"
    );
    let clustered = s.pair.target.sql(
        "netbox",
        "SELECT indisclustered FROM pg_index WHERE indexrelid = 'site_filled'::regclass",
    );
    assert_eq!(clustered, "t");
    // A key not validated on the source stays so; the others (added, then
    // validated apart) are validated as there.
    assert!(
        keys["constraint dcim_device device_site_later"]
            .ends_with("NOT VALID deferrable=false deferred=false"),
        "{keys:?}"
    );
    let unvalidated = s.pair.target.sql(
        "netbox",
        "SELECT string_agg(conname, ' ' ORDER BY conname) FROM pg_constraint WHERE NOT convalidated",
    );
    assert_eq!(unvalidated, "device_site_later site_checked");
}

/// A header of pg_dump's, as a comment, a function or a rule may hold it.
const FAKE_HEADER: &str =
    r"E'\n--\n-- Name: ghost; Type: INDEX; Schema: public; Owner: postgres\n--\n'";

/// Names that hold what a reader of the SQL would take for its syntax,
/// keys of every kind between them, and fake headers in the pre-data
/// section (a table's comment, a function's body).
fn add_hostile_names(s: &Scenario) {
    s.pair.source.sql(
        "netbox",
        &format!(
            r#"CREATE SCHEMA "odd ON ""s""
REFERENCES; ü";
CREATE TABLE "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" (
    id integer CONSTRAINT "pk ON x REFERENCES y ""q""
nl; ü" PRIMARY KEY,
    code text,
    CONSTRAINT "uq ON ""later""; ü" UNIQUE (code) DEFERRABLE INITIALLY DEFERRED
);
INSERT INTO "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" SELECT g, 'c' || g FROM generate_series(1, 200) g;
COMMENT ON TABLE "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" IS {FAKE_HEADER};
CREATE FUNCTION public.ghost_maker() RETURNS text LANGUAGE sql AS $$ SELECT {FAKE_HEADER}::text $$;
CREATE TABLE public."child REFERENCES public.dcim_site(id) ON x" (
    id integer PRIMARY KEY,
    parent integer CONSTRAINT "fk ON ""x""
REFERENCES; ü" REFERENCES "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" (id),
    later integer,
    note text
);
INSERT INTO public."child REFERENCES public.dcim_site(id) ON x"
    SELECT g, 1 + g % 200, 99999, 'n' || g FROM generate_series(1, 300) g;
ALTER TABLE public."child REFERENCES public.dcim_site(id) ON x"
    ADD CONSTRAINT "not valid ON x" FOREIGN KEY (later) REFERENCES "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" (id) NOT VALID;
CREATE INDEX "idx ON public.dcim_site (id)" ON public."child REFERENCES public.dcim_site(id) ON x" (later, note);
CREATE TABLE public."log ON x" (
    id bigint NOT NULL,
    at date NOT NULL,
    t_id integer CONSTRAINT "log fk REFERENCES x" REFERENCES "odd ON ""s""
REFERENCES; ü"."t ON x REFERENCES y; ""q""
nl 表" (id),
    CONSTRAINT "log pk ON x" PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
CREATE TABLE public."log ON x 2026" PARTITION OF public."log ON x" FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO public."log ON x" SELECT g, '2026-06-01', 1 + g % 200 FROM generate_series(1, 50) g;"#
        ),
    );
}

/// The source and the replica read independently (the fidelity
/// comparison: schema as pg_dump prints it, every row hashed).
#[track_caller]
fn assert_same_as_the_source(s: &Scenario) {
    let reading = Reading {
        database_level_ignored: true,
        ..Reading::default()
    };
    let diff = differences(
        &fingerprint(&s.pair.source, "netbox", &reading),
        &fingerprint(&s.pair.target, "netbox", &reading),
    );
    assert!(diff.is_empty(), "the replica differs:\n{diff}");
}

#[test]
fn post_data_is_sorted_by_the_catalog_and_runs_whole_when_a_header_is_not_an_entrys() {
    let s = Scenario::new("stream", "");
    // Every table's rows, so that the replica is the source.
    s.edit_manifest(|text| {
        text.replace(
            "exclude_table_data = [\"extras_objectchange\", \"core_objectchange\", \"django_session\"]\n",
            "",
        )
    });
    add_hostile_names(&s);
    s.apply(&[])
        .success()
        .stdout_has("entries sorted by the catalog");
    assert_same_as_the_source(&s);
    // The key not valid on the source stays so; the others are validated.
    let unvalidated = s.pair.target.sql(
        "netbox",
        "SELECT string_agg(conname, ' ' ORDER BY conname) FROM pg_constraint WHERE NOT convalidated",
    );
    assert_eq!(unvalidated, "not valid ON x");
    let recorded: serde_json::Value = serde_json::from_slice(
        &fs::read(s.artifacts().join("netbox.stream/post-data.json")).unwrap(),
    )
    .unwrap();
    let fk = recorded["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["constraint"]["name"] == "\"fk ON \"\"x\"\"\nREFERENCES; ü\"")
        .expect("the foreign key in post-data.json");
    assert_eq!(fk["desc"], "FK CONSTRAINT");
    assert_eq!(
        fk["constraint"]["references"]["name"],
        "t ON x REFERENCES y; \"q\"\nnl 表"
    );

    // A rule's text holds a header: the section is not cut, it runs whole
    // after the loads, and the replica is the same.
    s.pair.source.sql(
        "netbox",
        &format!(
            r#"CREATE RULE "ghost ON x" AS ON INSERT TO public."child REFERENCES public.dcim_site(id) ON x"
                WHERE new.note = {FAKE_HEADER} DO INSTEAD NOTHING"#
        ),
    );
    s.apply(&[])
        .success()
        .stdout_has("post-data run whole in one session, in the dump's order");
    assert_same_as_the_source(&s);
}
