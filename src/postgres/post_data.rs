//! The post-data section of a plain `pg_dump` (indexes, constraints,
//! triggers, rules...) cut into its entries and sorted by what they wait
//! for: each table's own indexes and keys can be built as soon as that
//! table's rows are in; foreign keys and everything else wait for all of
//! them.

use std::collections::BTreeMap;

/// The post-data section, sorted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PostData {
    /// The session settings before the first entry (`SET ...`): every
    /// session that runs entries starts with them.
    pub prelude: String,
    /// Indexes and constraints of one table (`schema.table`, unquoted), in
    /// the dump's order.
    pub by_table: BTreeMap<String, Vec<String>>,
    /// Partitions' indexes attached to their partitioned table's
    /// (`ALTER INDEX ... ATTACH PARTITION`): after every table's keys,
    /// before the foreign keys (a key referencing a partitioned table
    /// needs its unique index complete).
    pub attachments: Vec<String>,
    /// Foreign keys: after every table's keys, and independent of each
    /// other.
    pub foreign_keys: Vec<String>,
    /// Everything else, in the dump's order, after the foreign keys.
    pub rest: Vec<String>,
}

impl PostData {
    /// Cuts `sql` at each entry's `-- Name: ...; Type: ...` comment.
    pub fn split(sql: &str) -> Self {
        let mut starts = Vec::new();
        let mut offset = 0;
        let mut previous: Option<(usize, &str)> = None;
        for line in sql.split_inclusive('\n') {
            if line.starts_with("-- Name: ")
                && let Some((at, "--\n")) = previous
            {
                starts.push(at);
            }
            previous = Some((offset, line));
            offset += line.len();
        }
        let mut out = PostData {
            prelude: sql[..starts.first().copied().unwrap_or(sql.len())].to_owned(),
            ..PostData::default()
        };
        for (i, &start) in starts.iter().enumerate() {
            let end = starts.get(i + 1).copied().unwrap_or(sql.len());
            let entry = &sql[start..end];
            match (entry_type(entry), owning_table(entry)) {
                (Some("INDEX" | "CONSTRAINT"), Some(table)) => {
                    out.by_table
                        .entry(table)
                        .or_default()
                        .push(entry.to_owned());
                }
                (Some("INDEX ATTACH"), _) => out.attachments.push(entry.to_owned()),
                (Some("FK CONSTRAINT"), _) => out.foreign_keys.push(entry.to_owned()),
                _ => out.rest.push(entry.to_owned()),
            }
        }
        out
    }
}

impl PostData {
    /// A script of `entries` run in a session of their own: the prelude's
    /// settings, then the entries in turn.
    pub fn script<S: AsRef<str>>(&self, entries: impl IntoIterator<Item = S>) -> Vec<u8> {
        let mut sql = self.prelude.clone();
        for entry in entries {
            sql.push_str(entry.as_ref());
        }
        sql.into_bytes()
    }
}

impl PostData {
    /// A foreign key entry in a transaction that first locks both its
    /// tables, sorted by name, as adding the key would (`SHARE ROW
    /// EXCLUSIVE`): sessions adding keys at once wait for each other but
    /// never take the same two locks in opposite orders.
    pub fn locked_in_order(entry: &str) -> String {
        locked(entry, entry)
    }

    /// A foreign key between two tables loaded (and complete) as two
    /// scripts: the key added `NOT VALID`, in an instant, under the locks
    /// of [`PostData::locked_in_order`]; then its validation, which locks
    /// only the key's own table against writes (`SHARE UPDATE
    /// EXCLUSIVE`, the one it references `ROW SHARE`), so that keys
    /// referencing one large table are checked side by side, not in turn,
    /// to the same validated key. No validation for a key that stays as
    /// written: one `NOT VALID` or `NOT ENFORCED` on the source, or one
    /// of a partitioned table.
    pub fn validated_apart(entry: &str) -> (String, Option<String>) {
        match not_valid_then_validated(entry) {
            Some((add, validate)) => (locked(entry, &add), Some(validate)),
            None => (Self::locked_in_order(entry), None),
        }
    }
}

/// `add`, the statement of the foreign key `entry`, after locking both
/// its tables in name order: the key's own table `ONLY` when the key is
/// added to it `ONLY` (a plain table's), so that its inheritance children
/// are not locked out of that order; the referenced table with its
/// partitions, which adding the key locks too.
fn locked(entry: &str, add: &str) -> String {
    let only = statements(entry).starts_with("ALTER TABLE ONLY ");
    let mut tables: Vec<(&str, bool)> = [
        owning_table_token(entry).map(|t| (t, only)),
        referenced_table_token(entry).map(|t| (t, false)),
    ]
    .into_iter()
    .flatten()
    .collect();
    // By name, and a table named twice (a key to its own table) locked
    // with its children.
    tables.sort_unstable();
    tables.dedup_by_key(|(table, _)| *table);
    if tables.is_empty() {
        return add.to_owned();
    }
    let tables: Vec<String> = tables
        .iter()
        .map(|(table, only)| format!("{}{table}", if *only { "ONLY " } else { "" }))
        .collect();
    format!(
        "BEGIN;\nLOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE;\n{add}COMMIT;\n",
        tables.join(", ")
    )
}

/// `ALTER TABLE ONLY t ADD CONSTRAINT k FOREIGN KEY ...;` as the same key
/// added `NOT VALID`, and its `VALIDATE CONSTRAINT`. `None` for anything
/// else: a key already `NOT VALID` (or `NOT ENFORCED`, which cannot be
/// validated) stays so, and a partitioned table's (no `ONLY`) cannot be
/// added `NOT VALID`.
fn not_valid_then_validated(entry: &str) -> Option<(String, String)> {
    let (table, name, key) = added_to_only(entry)?;
    let key = key.strip_suffix(';')?;
    if !key.starts_with(" FOREIGN KEY (")
        || key.ends_with(" NOT VALID")
        || key.contains(" NOT ENFORCED")
        || key.contains(';')
    {
        return None;
    }
    Some((
        format!("ALTER TABLE ONLY {table}\n    ADD CONSTRAINT {name}{key} NOT VALID;\n"),
        format!("ALTER TABLE ONLY {table} VALIDATE CONSTRAINT {name};\n"),
    ))
}

impl PostData {
    /// Whether `entry` builds an index and nothing else (`Type: INDEX`):
    /// such entries of one table may be built at once by several
    /// sessions, each holding the table's `SHARE` lock, where a
    /// constraint locks the table for itself.
    pub fn is_index(entry: &str) -> bool {
        entry_type(entry) == Some("INDEX")
    }
}

impl PostData {
    /// A `PRIMARY KEY` or `UNIQUE` constraint entry as two statements: the
    /// unique index it needs (`CREATE UNIQUE INDEX`, which other sessions
    /// may build beside the table's other indexes, where `ADD CONSTRAINT`
    /// locks the table for itself), and the `ADD CONSTRAINT ... USING
    /// INDEX` that then makes that index the constraint, quickly and to
    /// the same result. `None` for any other entry, or for one with more
    /// than a plain column list and `DEFERRABLE` (`INCLUDE`, `WITH`, a
    /// tablespace, `NULLS NOT DISTINCT`, a `CLUSTER ON` after it...): it
    /// stays as it is.
    pub fn unique_index_first(entry: &str) -> Option<(String, String)> {
        if entry_type(entry) != Some("CONSTRAINT") {
            return None;
        }
        let (table, name, rest) = added_to_only(entry)?;
        let (kind, rest) = [" PRIMARY KEY (", " UNIQUE ("]
            .into_iter()
            .find_map(|kind| Some((kind.trim_end_matches(" ("), rest.strip_prefix(kind)?)))?;
        let columns = &rest[..closing_parenthesis(rest)?];
        let deferrable = match rest[columns.len() + 1..].trim_end() {
            ";" => "",
            " DEFERRABLE;" => " DEFERRABLE",
            " DEFERRABLE INITIALLY DEFERRED;" => " DEFERRABLE INITIALLY DEFERRED",
            _ => return None,
        };
        Some((
            format!("CREATE UNIQUE INDEX {name} ON {table} USING btree ({columns});\n"),
            format!(
                "ALTER TABLE ONLY {table}\n    ADD CONSTRAINT {name}{kind} USING INDEX {name}{deferrable};\n"
            ),
        ))
    }
}

impl PostData {
    /// The tables a foreign key entry names, its own and the one it
    /// references, unquoted (`schema.table`) as [`PostData::by_table`]
    /// names them; `None` when either cannot be read from it.
    pub fn foreign_key_tables(entry: &str) -> Option<Vec<String>> {
        let mut tables = vec![
            unquote_qualified(owning_table_token(entry)?),
            unquote_qualified(referenced_table_token(entry)?),
        ];
        tables.sort_unstable();
        tables.dedup();
        Some(tables)
    }
}

/// The quoted name after `ALTER TABLE [ONLY]`.
fn owning_table_token(entry: &str) -> Option<&str> {
    let at = entry.find("ALTER TABLE ")? + "ALTER TABLE ".len();
    let rest = &entry[at..];
    qualified_token(rest.strip_prefix("ONLY ").unwrap_or(rest))
}

/// The quoted name after `REFERENCES`, up to its column list.
fn referenced_table_token(entry: &str) -> Option<&str> {
    let at = entry.find(" REFERENCES ")? + " REFERENCES ".len();
    let token = qualified_token(&entry[at..])?;
    let mut quoted = false;
    for (i, c) in token.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => return Some(&token[..i]),
            _ => {}
        }
    }
    Some(token)
}

/// `INDEX` from `-- Name: x; Type: INDEX; Schema: public; Owner: -`.
fn entry_type(entry: &str) -> Option<&str> {
    let header = entry.lines().nth(1)?;
    let rest = header.split_once("; Type: ")?.1;
    Some(rest.split_once("; Schema: ").map_or(rest, |(kind, _)| kind))
}

/// `ALTER TABLE ONLY t ADD CONSTRAINT k ...`: the table and the
/// constraint as written (quoted), and what follows the name.
fn added_to_only(entry: &str) -> Option<(String, String, String)> {
    let body = statements(entry);
    let rest = body.strip_prefix("ALTER TABLE ONLY ")?;
    let table = qualified_token(rest)?;
    let rest = rest[table.len()..]
        .trim_start()
        .strip_prefix("ADD CONSTRAINT ")?;
    let name = qualified_token(rest)?;
    Some((
        table.to_owned(),
        name.to_owned(),
        rest[name.len()..].to_owned(),
    ))
}

/// An entry's statements: its lines but the comments, trimmed.
fn statements(entry: &str) -> String {
    let body: Vec<&str> = entry.lines().filter(|l| !l.starts_with("--")).collect();
    body.join("\n").trim().to_owned()
}

/// Where the parenthesis closing a list that `text` starts inside is;
/// `None` if another one opens first (an expression, not names).
fn closing_parenthesis(text: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => return None,
            ')' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// The table an index is built on, or a constraint added to.
fn owning_table(entry: &str) -> Option<String> {
    let body = statements(entry);
    let body = body.as_str();
    let after = if body.starts_with("CREATE INDEX ") || body.starts_with("CREATE UNIQUE INDEX ") {
        let on = body.find(" ON ")? + 4;
        let rest = &body[on..];
        rest.strip_prefix("ONLY ").unwrap_or(rest)
    } else {
        let rest = body.strip_prefix("ALTER TABLE ")?;
        rest.strip_prefix("ONLY ").unwrap_or(rest)
    };
    let name = qualified_token(after)?;
    Some(unquote_qualified(name))
}

/// The qualified name at the start of `text`, quotes and all.
fn qualified_token(text: &str) -> Option<&str> {
    let mut quoted = false;
    for (i, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (i > 0).then(|| &text[..i]),
            _ => {}
        }
    }
    (!text.is_empty()).then_some(text)
}

/// `public."Odd ""name"""` as `public.Odd "name"`: a qualified name written
/// with identifier quoting, read back into its plain parts.
pub fn unquote_qualified(text: &str) -> String {
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                part.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            '.' if !quoted => parts.push(std::mem::take(&mut part)),
            c => part.push(c),
        }
    }
    parts.push(part);
    parts.join(".")
}

#[cfg(test)]
mod tests {
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
-- Name: Odd idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX \"Odd idx\" ON public.\"Odd Table\" USING btree (name);


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

    #[test]
    fn foreign_keys_lock_their_tables_in_one_order() {
        let post = PostData::split(POST);
        let locked = PostData::locked_in_order(&post.foreign_keys[0]);
        assert_eq!(
            locked,
            "BEGIN;\nLOCK TABLE ONLY public.dcim_device, public.dcim_site IN SHARE ROW EXCLUSIVE MODE;\n\
             --\n-- Name: dcim_device dcim_device_site_fk; Type: FK CONSTRAINT; Schema: public; Owner: -\n--\n\n\
             ALTER TABLE ONLY public.dcim_device\n    ADD CONSTRAINT dcim_device_site_fk FOREIGN KEY (site_id) \
             REFERENCES public.dcim_site(id) DEFERRABLE INITIALLY DEFERRED;\n\n\nCOMMIT;\n"
        );
        // Between loaded tables: added at once under the same locks, then
        // validated apart.
        let (add, validate) = PostData::validated_apart(&post.foreign_keys[0]);
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
        let to_itself = "--\n-- Name: t t_fk; Type: FK CONSTRAINT; Schema: public; Owner: -\n--\n\nALTER TABLE ONLY public.\"T\"\n    ADD CONSTRAINT t_fk FOREIGN KEY (p) REFERENCES public.\"T\"(id);\n";
        assert!(PostData::locked_in_order(to_itself).contains("LOCK TABLE public.\"T\" IN"));
        assert_eq!(
            PostData::foreign_key_tables(&post.foreign_keys[0]).unwrap(),
            ["public.dcim_device", "public.dcim_site"]
        );
        assert_eq!(
            PostData::foreign_key_tables(to_itself).unwrap(),
            ["public.T"]
        );
        assert_eq!(PostData::foreign_key_tables("-- odd\nSELECT 1;\n"), None);
    }

    #[test]
    fn keys_not_valid_not_enforced_or_on_partitioned_tables_are_added_as_they_are() {
        let fk = |body: &str| {
            format!(
                "--\n-- Name: t k; Type: FK CONSTRAINT; Schema: public; Owner: -\n--\n\n{body}\n\n\n"
            )
        };
        for body in [
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT k FOREIGN KEY (s) REFERENCES public.s(id) NOT VALID;",
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT k FOREIGN KEY (s) REFERENCES public.s(id) NOT ENFORCED;",
            "ALTER TABLE public.t\n    ADD CONSTRAINT k FOREIGN KEY (s) REFERENCES public.s(id);",
        ] {
            let (add, validate) = PostData::validated_apart(&fk(body));
            assert_eq!(validate, None);
            assert_eq!(add, PostData::locked_in_order(&fk(body)));
            assert!(add.ends_with(&format!("{body}\n\n\nCOMMIT;\n")), "{add}");
        }
        // A partitioned table's key locks its tables and their partitions.
        let partitioned = PostData::locked_in_order(&fk(
            "ALTER TABLE public.t\n    ADD CONSTRAINT k FOREIGN KEY (s) REFERENCES public.s(id);",
        ));
        assert!(
            partitioned.contains("LOCK TABLE public.s, public.t IN"),
            "{partitioned}"
        );
    }

    fn constraint(body: &str) -> String {
        format!("--\n-- Name: t k; Type: CONSTRAINT; Schema: public; Owner: -\n--\n\n{body}\n\n\n")
    }

    #[test]
    fn plain_keys_are_built_as_unique_indexes_first() {
        let (index, attach) = PostData::unique_index_first(&constraint(
            "ALTER TABLE ONLY public.dcim_site\n    ADD CONSTRAINT dcim_site_pkey PRIMARY KEY (id);",
        ))
        .unwrap();
        assert_eq!(
            index,
            "CREATE UNIQUE INDEX dcim_site_pkey ON public.dcim_site USING btree (id);\n"
        );
        assert_eq!(
            attach,
            "ALTER TABLE ONLY public.dcim_site\n    ADD CONSTRAINT dcim_site_pkey PRIMARY KEY USING INDEX dcim_site_pkey;\n"
        );
        let (index, attach) = PostData::unique_index_first(&constraint(
            "ALTER TABLE ONLY \"Odd\".\"T t\"\n    ADD CONSTRAINT \"k (1)\" UNIQUE (a, \"b)\") DEFERRABLE INITIALLY DEFERRED;",
        ))
        .unwrap();
        assert_eq!(
            index,
            "CREATE UNIQUE INDEX \"k (1)\" ON \"Odd\".\"T t\" USING btree (a, \"b)\");\n"
        );
        assert!(
            attach.ends_with(
                "ADD CONSTRAINT \"k (1)\" UNIQUE USING INDEX \"k (1)\" DEFERRABLE INITIALLY DEFERRED;\n"
            ),
            "{attach}"
        );
        // Anything more stays as pg_dump wrote it.
        for body in [
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT k PRIMARY KEY (id) INCLUDE (a);",
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT k UNIQUE NULLS NOT DISTINCT (a);",
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT k UNIQUE (a) WITH (fillfactor='50');",
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT k PRIMARY KEY (id);\n\nALTER TABLE public.t CLUSTER ON k;",
            "ALTER TABLE ONLY public.t\n    ADD CONSTRAINT k EXCLUDE USING gist (r WITH &&);",
            "ALTER TABLE public.t\n    ADD CONSTRAINT k CHECK ((a > 0)) NOT VALID;",
        ] {
            assert_eq!(
                PostData::unique_index_first(&constraint(body)),
                None,
                "{body}"
            );
        }
        let index = "--\n-- Name: i; Type: INDEX; Schema: public; Owner: -\n--\n\nCREATE UNIQUE INDEX i ON public.t USING btree (a);\n";
        assert_eq!(PostData::unique_index_first(index), None);
    }

    #[test]
    fn entries_are_sorted_by_what_they_wait_for() {
        let post = PostData::split(POST);
        assert!(post.prelude.contains("SET statement_timeout = 0;"));
        assert!(!post.prelude.contains("Name:"));
        assert_eq!(
            post.by_table.keys().collect::<Vec<_>>(),
            ["public.Odd Table", "public.dcim_site"]
        );
        assert!(post.by_table["public.dcim_site"][0].contains("PRIMARY KEY"));
        assert!(!PostData::is_index(&post.by_table["public.dcim_site"][0]));
        assert!(PostData::is_index(&post.by_table["public.Odd Table"][0]));
        assert_eq!(post.attachments.len(), 1);
        assert!(post.attachments[0].contains("ATTACH PARTITION"));
        assert_eq!(post.foreign_keys.len(), 1);
        assert!(post.foreign_keys[0].contains("FOREIGN KEY"));
        assert_eq!(post.rest.len(), 1);
        assert!(post.rest[0].contains("CREATE TRIGGER"));
        // Nothing is lost.
        let total: usize = post.prelude.len()
            + post
                .by_table
                .values()
                .flatten()
                .map(String::len)
                .sum::<usize>()
            + post.attachments.iter().map(String::len).sum::<usize>()
            + post.foreign_keys.iter().map(String::len).sum::<usize>()
            + post.rest.iter().map(String::len).sum::<usize>();
        assert_eq!(total, POST.len());
    }
}
