//! `post-data.json`, the stream format's description of `post-data.sql`:
//! every entry of the section in the dump's order, with its header as
//! `pg_dump` printed it, its ids from the archive's table of contents and,
//! for indexes and constraints, the facts the restore sorts them by, read
//! from the source's catalog in the dump's snapshot. Written by the dump,
//! which ties each header of the SQL to its line of the table of contents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use crate::postgres::dump_files::toc::ListLine;

/// The layout of `post-data.json` this replicate writes and reads.
pub const VERSION: u32 = 1;

/// `post-data.json`.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorded {
    /// The layout's version: a restore that does not know it runs the
    /// section whole.
    pub version: u32,
    /// Why the dump could not tie the SQL's headers to the table of
    /// contents (no entries then): the restore runs the section whole, in
    /// one session, in the dump's order.
    pub unsorted: Option<String>,
    /// The section's entries, in the dump's order.
    pub entries: Vec<Entry>,
}

/// One entry of the section.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its id in the archive.
    pub dump_id: u32,
    /// What it is, as the archive names it (`INDEX`, `CONSTRAINT`, `FK
    /// CONSTRAINT`, `INDEX ATTACH`, `TRIGGER`, `COMMENT`...).
    pub desc: String,
    /// Its `-- Name: ...` line, exactly as in `post-data.sql`.
    pub header: String,
    /// The catalog of the object (`pg_class` for an index,
    /// `pg_constraint` for a constraint), 0 for none.
    pub tableoid: u32,
    /// The object's oid in it, 0 for none.
    pub oid: u32,
    /// An index's table, or a constraint's.
    pub table: Option<TableFacts>,
    /// A constraint's facts.
    pub constraint: Option<ConstraintFacts>,
}

/// A table, as the catalog names it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFacts {
    pub schema: String,
    pub name: String,
    /// `schema.name` quoted by the server (`format('%I.%I')`).
    pub quoted: String,
    /// `pg_class.relkind`: `r` a table, `p` a partitioned one...
    pub relkind: String,
}

/// A constraint, as the catalog has it.
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstraintFacts {
    /// `pg_constraint.contype`: `p`, `u`, `x`, `f`...
    pub contype: String,
    /// Its name quoted by the server (`quote_ident`).
    pub name: String,
    /// `pg_get_constraintdef`, names qualified (`FOREIGN KEY (a)
    /// REFERENCES public.t(id)`).
    pub definition: String,
    pub validated: bool,
    pub deferrable: bool,
    pub deferred: bool,
    /// `conenforced` (PostgreSQL 18); `None` before, where every key is.
    pub enforced: Option<bool>,
    /// A foreign key's referenced table.
    pub references: Option<TableFacts>,
    /// A primary key's or unique constraint's index.
    pub unique_index: Option<UniqueIndex>,
}

/// The index of a primary key or unique constraint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueIndex {
    /// `pg_get_indexdef`: `CREATE UNIQUE INDEX k ON public.t USING btree
    /// (id)`.
    pub definition: String,
    /// A btree over plain columns of an ordinary table, with nothing else
    /// (no `INCLUDE`, expression, predicate, storage parameter,
    /// tablespace, `NULLS NOT DISTINCT`, `CLUSTER ON` or replica
    /// identity): `CREATE UNIQUE INDEX` from `definition` and `ADD
    /// CONSTRAINT ... USING INDEX` make the same constraint.
    pub plain: bool,
}

/// The facts of the section's indexes and constraints, by catalog id
/// (`tableoid`, `oid`).
#[derive(Debug, Default)]
pub struct Facts {
    pub tables: BTreeMap<(u32, u32), TableFacts>,
    pub constraints: BTreeMap<(u32, u32), ConstraintFacts>,
}

/// Where each entry of `sql` (plain `pg_dump` output) starts, and its
/// header: a line `-- Name: ...` after a line `--`. In text written with
/// anything in it (a comment, a rule's body), some of these may not be
/// headers at all; which are is for [`describe`] and the restore to tell,
/// against the table of contents.
pub fn headers(sql: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    let mut offset = 0;
    let mut previous: Option<(usize, &str)> = None;
    for line in sql.split_inclusive('\n') {
        if line.starts_with("-- Name: ")
            && let Some((at, "--\n")) = previous
        {
            found.push((at, line.trim_end_matches('\n')));
        }
        previous = Some((offset, line));
        offset += line.len();
    }
    found
}

/// `post-data.json` for `sql`, the section as printed from an archive
/// whose table of contents is `list`, with the catalog's `facts`. The
/// headers are tied to the list one for one, in order: there must be as
/// many, and each must say what its line says. Otherwise (a header
/// written inside a comment or a rule, say) the entries are not recorded,
/// and why is.
pub fn describe(list: &[ListLine], sql: &str, facts: &Facts) -> Recorded {
    let found = headers(sql);
    let unsorted = |why: String| Recorded {
        version: VERSION,
        unsorted: Some(why),
        entries: Vec::new(),
    };
    if found.len() != list.len() {
        return unsorted(format!(
            "post-data.sql has {} lines that read as entry headers, its table of contents {} entries",
            found.len(),
            list.len()
        ));
    }
    let mut entries = Vec::new();
    for (n, (line, (_, header))) in list.iter().zip(found).enumerate() {
        let Some(desc) = desc_of(header, &line.rest) else {
            return unsorted(format!(
                "header {} of post-data.sql does not say what entry {} of its table of contents says",
                n + 1,
                line.dump_id
            ));
        };
        let id = (line.tableoid, line.oid);
        entries.push(Entry {
            dump_id: line.dump_id,
            desc,
            header: header.to_owned(),
            tableoid: line.tableoid,
            oid: line.oid,
            table: facts.tables.get(&id).cloned(),
            constraint: facts.constraints.get(&id).cloned(),
        });
    }
    Recorded {
        version: VERSION,
        unsorted: None,
        entries,
    }
}

/// The entry's desc, when `header` (`-- Name: TAG; Type: DESC; Schema:
/// SCHEMA; Owner: OWNER`, maybe with `; Tablespace: ...`) and `rest` (`DESC
/// SCHEMA TAG OWNER`, its line of the table of contents) name the same
/// four things, the owner maybe as `-` (printed without owners). Names
/// may hold spaces and `; `, so every reading of `rest` is tried; `None`
/// unless one fits, or when readings that fit disagree on the desc.
fn desc_of(header: &str, rest: &str) -> Option<String> {
    let body = header.strip_prefix("-- Name: ")?;
    let spaces: Vec<usize> = rest.match_indices(' ').map(|(i, _)| i).collect();
    let mut found: Option<&str> = None;
    for (n, &i) in spaces.iter().enumerate() {
        let desc = &rest[..i];
        for &j in &spaces[n + 1..] {
            let schema = &rest[i + 1..j];
            // `TAG OWNER`: the tag is what the header has before this.
            let tag_and_owner = &rest[j + 1..];
            let middle = format!("; Type: {desc}; Schema: {schema}; Owner: ");
            for (at, _) in body.match_indices(&middle) {
                let tag = &body[..at];
                let Some(owner) = tag_and_owner
                    .strip_prefix(tag)
                    .and_then(|r| r.strip_prefix(' '))
                else {
                    continue;
                };
                let after = &body[at + middle.len()..];
                let fits = [owner, "-"].iter().any(|o| {
                    after
                        .strip_prefix(o)
                        .is_some_and(|t| t.is_empty() || t.starts_with("; Tablespace: "))
                });
                if fits {
                    if found.is_some_and(|d| d != desc) {
                        return None;
                    }
                    found = Some(desc);
                }
            }
        }
    }
    found.map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(dump_id: u32, tableoid: u32, oid: u32, rest: &str) -> ListLine {
        ListLine {
            dump_id,
            tableoid,
            oid,
            rest: rest.into(),
        }
    }

    #[test]
    fn a_header_says_what_its_line_of_the_table_of_contents_says() {
        let fits = |header: &str, rest: &str| desc_of(header, rest);
        assert_eq!(
            fits(
                "-- Name: r fk REFERENCES t ON; Type: FK CONSTRAINT; Schema: public; Owner: -",
                "FK CONSTRAINT public r fk REFERENCES t ON postgres"
            )
            .as_deref(),
            Some("FK CONSTRAINT")
        );
        // Line breaks printed as spaces, quotes and `; ` in names.
        assert_eq!(
            fits(
                "-- Name: t ON x pk ON \"q\" nl; ü; Type: CONSTRAINT; Schema: we ird sch; Owner: postgres",
                "CONSTRAINT we ird sch t ON x pk ON \"q\" nl; ü postgres"
            )
            .as_deref(),
            Some("CONSTRAINT")
        );
        assert_eq!(
            fits(
                "-- Name: i; Type: INDEX; Schema: public; Owner: -; Tablespace: fast",
                "INDEX public i postgres"
            )
            .as_deref(),
            Some("INDEX")
        );
        assert_eq!(
            fits(
                "-- Name: e; Type: EVENT TRIGGER; Schema: -; Owner: o",
                "EVENT TRIGGER - e o"
            )
            .as_deref(),
            Some("EVENT TRIGGER")
        );
        // Another entry's header, or another owner, does not fit.
        assert_eq!(
            fits(
                "-- Name: ghost; Type: INDEX; Schema: public; Owner: postgres",
                "INDEX public i postgres"
            ),
            None
        );
        assert_eq!(
            fits(
                "-- Name: i; Type: INDEX; Schema: public; Owner: someone",
                "INDEX public i postgres"
            ),
            None
        );
        assert_eq!(fits("-- Name: i", "INDEX public i postgres"), None);
    }

    const SQL: &str = "\
SET x = 1;

--
-- Name: t t_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.t
    ADD CONSTRAINT t_pkey PRIMARY KEY (id);


--
-- Name: t r; Type: RULE; Schema: public; Owner: -
--

CREATE RULE r AS ON INSERT TO public.t DO INSTEAD SELECT '
--
-- Name: ghost; Type: INDEX; Schema: public; Owner: -
--
'::text;
";

    #[test]
    fn entries_are_recorded_only_when_every_header_is_an_entrys() {
        let list = [
            listed(7, 2606, 100, "CONSTRAINT public t t_pkey postgres"),
            listed(8, 2618, 101, "RULE public t r postgres"),
        ];
        let found = headers(SQL);
        assert_eq!(found.len(), 3);
        assert_eq!(
            found[0].1,
            "-- Name: t t_pkey; Type: CONSTRAINT; Schema: public; Owner: -"
        );
        // The rule's text holds a third header: nothing is recorded.
        let recorded = describe(&list, SQL, &Facts::default());
        assert!(recorded.entries.is_empty());
        assert!(
            recorded.unsorted.as_deref().unwrap().contains("3 lines"),
            "{recorded:?}"
        );
        // Without it, each entry with its facts.
        let sql = &SQL[..SQL.find("CREATE RULE").unwrap()];
        let mut facts = Facts::default();
        let table = TableFacts {
            schema: "public".into(),
            name: "t".into(),
            quoted: "public.t".into(),
            relkind: "r".into(),
        };
        facts.tables.insert((2606, 100), table.clone());
        let recorded = describe(&list, sql, &facts);
        assert_eq!(recorded.unsorted, None);
        assert_eq!(recorded.entries.len(), 2);
        assert_eq!(recorded.entries[0].desc, "CONSTRAINT");
        assert_eq!(recorded.entries[0].table, Some(table));
        assert_eq!(recorded.entries[1].desc, "RULE");
        assert_eq!(recorded.entries[1].header, found[1].1);
        // Headers out of step with the list.
        let swapped = [list[1].clone(), list[0].clone()];
        assert!(describe(&swapped, sql, &facts).unsorted.is_some());
    }
}
