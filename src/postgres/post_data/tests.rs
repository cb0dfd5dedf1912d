use super::recorded::{ConstraintFacts, Entry, TableFacts, UniqueIndex};
use super::*;

const POST: &str = "\
--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SELECT pg_catalog.set_config('search_path', '', false);

--
-- Name: dcim_site dcim_site_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dcim_site
    ADD CONSTRAINT dcim_site_pkey PRIMARY KEY (id);


--
-- Name: Odd idx ON x; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX \"Odd idx ON x\" ON public.\"Odd Table\" USING btree (name);


--
-- Name: log_2026_pkey; Type: INDEX ATTACH; Schema: public; Owner: -
--

ALTER INDEX public.log_pkey ATTACH PARTITION public.log_2026_pkey;


--
-- Name: dcim_device dcim_device_site_fk; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.dcim_device
    ADD CONSTRAINT dcim_device_site_fk FOREIGN KEY (site_id) REFERENCES public.dcim_site(id) DEFERRABLE INITIALLY DEFERRED;


--
-- Name: t trg; Type: TRIGGER; Schema: public; Owner: -
--

CREATE TRIGGER trg AFTER INSERT ON public.t FOR EACH ROW EXECUTE FUNCTION public.f();
";

fn table(schema: &str, name: &str, quoted: &str, relkind: &str) -> TableFacts {
    TableFacts {
        schema: schema.into(),
        name: name.into(),
        quoted: quoted.into(),
        relkind: relkind.into(),
    }
}

fn site() -> TableFacts {
    table("public", "dcim_site", "public.dcim_site", "r")
}

fn primary_key() -> ConstraintFacts {
    ConstraintFacts {
        contype: "p".into(),
        name: "dcim_site_pkey".into(),
        definition: "PRIMARY KEY (id)".into(),
        validated: true,
        unique_index: Some(UniqueIndex {
            definition: "CREATE UNIQUE INDEX dcim_site_pkey ON public.dcim_site USING btree (id)"
                .into(),
            plain: true,
        }),
        ..ConstraintFacts::default()
    }
}

fn foreign_key() -> ConstraintFacts {
    ConstraintFacts {
        contype: "f".into(),
        name: "dcim_device_site_fk".into(),
        definition:
            "FOREIGN KEY (site_id) REFERENCES public.dcim_site(id) DEFERRABLE INITIALLY DEFERRED"
                .into(),
        validated: true,
        deferrable: true,
        deferred: true,
        references: Some(site()),
        ..ConstraintFacts::default()
    }
}

/// What the dump records of [`POST`].
fn recorded() -> Recorded {
    let entry = |desc: &str, table: Option<TableFacts>, constraint| Entry {
        desc: desc.into(),
        table,
        constraint,
        ..Entry::default()
    };
    let mut entries = vec![
        entry("CONSTRAINT", Some(site()), Some(primary_key())),
        entry(
            "INDEX",
            Some(table("public", "Odd Table", "public.\"Odd Table\"", "r")),
            None,
        ),
        entry("INDEX ATTACH", None, None),
        entry(
            "FK CONSTRAINT",
            Some(table("public", "dcim_device", "public.dcim_device", "r")),
            Some(foreign_key()),
        ),
        entry("TRIGGER", None, None),
    ];
    for (entry, (_, header)) in entries.iter_mut().zip(headers(POST)) {
        entry.header = header.to_owned();
    }
    Recorded {
        version: VERSION,
        unsorted: None,
        entries,
    }
}

#[test]
fn entries_are_sorted_by_what_the_catalog_says_they_are() {
    let post = PostData::cut(POST, &recorded()).unwrap();
    assert!(post.prelude.contains("SET statement_timeout = 0;"));
    assert!(!post.prelude.contains("Name:"));
    assert_eq!(
        post.by_table
            .keys()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["public.Odd Table", "public.dcim_site"]
    );
    let site = &post.by_table[&TableName::new("public", "dcim_site")][0];
    assert!(site.sql.contains("PRIMARY KEY (id);"));
    assert_eq!(
        site.build,
        Build::UniqueIndexFirst {
            index: "CREATE UNIQUE INDEX dcim_site_pkey ON public.dcim_site USING btree (id);\n"
                .into(),
            constraint: "ALTER TABLE ONLY public.dcim_site\n    ADD CONSTRAINT dcim_site_pkey PRIMARY KEY USING INDEX dcim_site_pkey;\n".into(),
        }
    );
    let odd = &post.by_table[&TableName::new("public", "Odd Table")][0];
    assert_eq!(odd.build, Build::Index);
    assert_eq!(post.attachments.len(), 1);
    assert!(post.attachments[0].contains("ATTACH PARTITION"));
    assert_eq!(post.foreign_keys.len(), 1);
    assert_eq!(
        post.foreign_keys[0].tables,
        [
            TableName::new("public", "dcim_device"),
            TableName::new("public", "dcim_site")
        ]
    );
    assert_eq!(post.rest.len(), 1);
    assert!(post.rest[0].contains("CREATE TRIGGER"));
    assert_eq!(post.count(), 5);
    // Nothing is lost.
    let total: usize = post.prelude.len()
        + post
            .by_table
            .values()
            .flatten()
            .map(|k| k.sql.len())
            .sum::<usize>()
        + post.attachments.iter().map(String::len).sum::<usize>()
        + post.foreign_keys.iter().map(|k| k.sql.len()).sum::<usize>()
        + post.rest.iter().map(String::len).sum::<usize>();
    assert_eq!(total, POST.len());
}

#[test]
fn the_sql_is_cut_only_where_its_headers_are_those_recorded() {
    // A header inside the text (a rule's, a comment's): one too many.
    let ghost = POST.replace(
        "FOR EACH ROW",
        "WHEN (NEW.note <> '\n--\n-- Name: ghost; Type: INDEX; Schema: public; Owner: postgres\n--\n') FOR EACH ROW",
    );
    assert_eq!(
        PostData::cut(&ghost, &recorded()),
        Err(Unsorted::Count {
            found: 6,
            recorded: 5
        })
    );
    // As many, but one is not the entry's.
    let mut other = recorded();
    other.entries[2].header = "-- Name: ghost; Type: INDEX; Schema: public; Owner: -".into();
    assert_eq!(PostData::cut(POST, &other), Err(Unsorted::Header(3)));
    // What the dump could not sort, or a layout not known.
    let at_dump = Recorded {
        version: VERSION,
        unsorted: Some("why".into()),
        entries: Vec::new(),
    };
    assert_eq!(
        PostData::cut(POST, &at_dump),
        Err(Unsorted::AtDump("why".into()))
    );
    let mut later = recorded();
    later.version = VERSION + 1;
    assert_eq!(
        PostData::cut(POST, &later),
        Err(Unsorted::Version(VERSION + 1))
    );
    // An index whose table the catalog did not give.
    let mut lacking = recorded();
    lacking.entries[1].table = None;
    assert!(matches!(
        PostData::cut(POST, &lacking),
        Err(Unsorted::Facts { desc, .. }) if desc == "INDEX"
    ));
    // A constraint entry whose facts are a foreign key's.
    let mut mixed = recorded();
    mixed.entries[0].constraint = Some(foreign_key());
    assert!(PostData::cut(POST, &mixed).is_err());
}

/// An entry of the kind `desc` for the constraint `key` of `own`.
fn keyed_entry(desc: &str, own: TableFacts, key: ConstraintFacts) -> Entry {
    Entry {
        desc: desc.into(),
        table: Some(own),
        constraint: Some(key),
        ..Entry::default()
    }
}

fn fk_entry(own: TableFacts, key: ConstraintFacts) -> ForeignKey {
    let entry = keyed_entry("FK CONSTRAINT", own, key);
    ForeignKey::new("-- the entry\n".into(), &entry).unwrap()
}

#[test]
fn foreign_keys_lock_their_tables_in_one_order() {
    let device = table("public", "dcim_device", "public.dcim_device", "r");
    let fk = fk_entry(device.clone(), foreign_key());
    assert_eq!(
        fk.locked_in_order(),
        "BEGIN;\nLOCK TABLE ONLY public.dcim_device, public.dcim_site IN SHARE ROW EXCLUSIVE MODE;\n\
         -- the entry\nCOMMIT;\n"
    );
    // Between loaded tables: added at once under the same locks, then
    // validated apart.
    let (add, validate) = fk.validated_apart();
    assert_eq!(
        add,
        "BEGIN;\nLOCK TABLE ONLY public.dcim_device, public.dcim_site IN SHARE ROW EXCLUSIVE MODE;\n\
         ALTER TABLE ONLY public.dcim_device\n    ADD CONSTRAINT dcim_device_site_fk FOREIGN KEY (site_id) \
         REFERENCES public.dcim_site(id) DEFERRABLE INITIALLY DEFERRED NOT VALID;\nCOMMIT;\n"
    );
    assert_eq!(
        validate.as_deref(),
        Some("ALTER TABLE ONLY public.dcim_device VALIDATE CONSTRAINT dcim_device_site_fk;\n")
    );
    // Names as the server quoted them, whatever they hold; a key to its
    // own table locks it once, with its children.
    let odd = table(
        "public",
        "T ON x REFERENCES y",
        "public.\"T ON x REFERENCES y\"",
        "r",
    );
    let to_itself = fk_entry(
        odd.clone(),
        ConstraintFacts {
            references: Some(odd),
            name: "\"k; REFERENCES\"".into(),
            ..foreign_key()
        },
    );
    assert!(
        to_itself
            .locked_in_order()
            .starts_with("BEGIN;\nLOCK TABLE public.\"T ON x REFERENCES y\" IN"),
        "{}",
        to_itself.locked_in_order()
    );
    assert_eq!(
        to_itself.tables,
        [TableName::new("public", "T ON x REFERENCES y")]
    );
    assert!(
        to_itself
            .validated_apart()
            .1
            .unwrap()
            .ends_with("VALIDATE CONSTRAINT \"k; REFERENCES\";\n")
    );
}

#[test]
fn keys_not_valid_not_enforced_or_on_partitioned_tables_are_added_as_they_are() {
    let device = table("public", "dcim_device", "public.dcim_device", "r");
    let log = table("public", "log", "public.log", "p");
    for (own, key) in [
        (
            device.clone(),
            ConstraintFacts {
                validated: false,
                ..foreign_key()
            },
        ),
        (
            device,
            ConstraintFacts {
                enforced: Some(false),
                ..foreign_key()
            },
        ),
        (log, foreign_key()),
    ] {
        let fk = fk_entry(own, key);
        let (add, validate) = fk.validated_apart();
        assert_eq!(validate, None);
        assert_eq!(add, fk.locked_in_order());
        assert!(add.ends_with("-- the entry\nCOMMIT;\n"), "{add}");
    }
    // A partitioned table's key locks its tables and their partitions.
    let partitioned = fk_entry(table("public", "log", "public.log", "p"), foreign_key());
    assert!(
        partitioned
            .locked_in_order()
            .contains("LOCK TABLE public.dcim_site, public.log IN"),
        "{}",
        partitioned.locked_in_order()
    );
}

fn constraint_entry(own: TableFacts, key: ConstraintFacts) -> Build {
    let entry = keyed_entry("CONSTRAINT", own, key);
    TableKey::constraint("-- the entry\n".into(), &entry)
        .unwrap()
        .build
}

#[test]
fn plain_keys_are_built_as_unique_indexes_first() {
    let odd = table("Odd", "T t", "\"Odd\".\"T t\"", "r");
    let unique = ConstraintFacts {
        contype: "u".into(),
        name: "\"k (1)\"".into(),
        deferrable: true,
        deferred: true,
        unique_index: Some(UniqueIndex {
            definition: "CREATE UNIQUE INDEX \"k (1)\" ON \"Odd\".\"T t\" USING btree (a, \"b)\")"
                .into(),
            plain: true,
        }),
        ..ConstraintFacts::default()
    };
    let Build::UniqueIndexFirst { index, constraint } =
        constraint_entry(odd.clone(), unique.clone())
    else {
        panic!("not split");
    };
    assert_eq!(
        index,
        "CREATE UNIQUE INDEX \"k (1)\" ON \"Odd\".\"T t\" USING btree (a, \"b)\");\n"
    );
    assert_eq!(
        constraint,
        "ALTER TABLE ONLY \"Odd\".\"T t\"\n    ADD CONSTRAINT \"k (1)\" UNIQUE USING INDEX \"k (1)\" DEFERRABLE INITIALLY DEFERRED;\n"
    );
    let Build::UniqueIndexFirst { constraint, .. } = constraint_entry(
        odd.clone(),
        ConstraintFacts {
            deferred: false,
            ..unique.clone()
        },
    ) else {
        panic!("not split");
    };
    assert!(constraint.ends_with("USING INDEX \"k (1)\" DEFERRABLE;\n"));
    // Anything more stays as pg_dump wrote it: an index that is not plain
    // (INCLUDE, NULLS NOT DISTINCT, WITH, CLUSTER ON...), an exclusion
    // constraint, a partitioned table's key.
    let not_plain = ConstraintFacts {
        unique_index: Some(UniqueIndex {
            plain: false,
            ..unique.unique_index.clone().unwrap()
        }),
        ..unique.clone()
    };
    let exclusion = ConstraintFacts {
        contype: "x".into(),
        ..unique.clone()
    };
    let log = table("public", "log", "public.log", "p");
    for (own, key) in [(odd.clone(), not_plain), (odd, exclusion), (log, unique)] {
        assert_eq!(constraint_entry(own, key), Build::Locking);
    }
}
