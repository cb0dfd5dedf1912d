//! The lines of `pg_restore --list`: `ID; TABLEOID OID DESC SCHEMA TAG OWNER`.
//! Only the entries `check` needs are read: each table's data (to find its
//! `ID.dat` file in a directory dump) and each sequence's value; the
//! restore is cut in passes around the partitions' index attachments; and
//! every entry's ids are read for the stream format's `post-data.json`.

/// One entry of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub dump_id: u32,
    /// The object id in the entry's catalog id: a table's for its data.
    pub oid: u32,
    pub kind: ListKind,
    /// `SCHEMA TAG OWNER`, as printed (names are not quoted).
    pub rest: String,
    /// The line itself, for a list given back to `pg_restore -L`.
    pub line: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    TableData,
    SequenceSet,
}

/// One line of the list, by its ids: what follows them (`DESC SCHEMA TAG
/// OWNER`, names unquoted, line breaks printed as spaces) is text whose
/// fields cannot be told apart, since names may hold spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListLine {
    pub dump_id: u32,
    /// The catalog the object is in (`pg_class`'s oid for an index,
    /// `pg_constraint`'s for a constraint), 0 for none.
    pub tableoid: u32,
    /// The object's oid in that catalog, 0 for none.
    pub oid: u32,
    /// `DESC SCHEMA TAG OWNER`, as printed.
    pub rest: String,
}

/// Every entry of a `--list` output, in its order (the archive's).
pub fn lines(list: &str) -> Vec<ListLine> {
    list.lines().filter_map(line).collect()
}

fn line(line: &str) -> Option<ListLine> {
    if line.starts_with(';') {
        return None;
    }
    let (id, rest) = line.split_once("; ")?;
    let dump_id = id.trim().parse().ok()?;
    // The catalog ids: `TABLEOID OID`.
    let mut fields = rest.splitn(3, ' ');
    let (tableoid, oid, rest) = (fields.next()?, fields.next()?, fields.next()?);
    Some(ListLine {
        dump_id,
        tableoid: tableoid.parse().ok()?,
        oid: oid.parse().ok()?,
        rest: rest.to_owned(),
    })
}

/// The table data and sequence value entries of a `--list` output.
pub fn entries(list: &str) -> Vec<ListEntry> {
    list.lines().filter_map(entry).collect()
}

fn entry(text: &str) -> Option<ListEntry> {
    let ListLine {
        dump_id, oid, rest, ..
    } = line(text)?;
    let (kind, rest) = if let Some(rest) = rest.strip_prefix("TABLE DATA ") {
        (ListKind::TableData, rest)
    } else if let Some(rest) = rest.strip_prefix("SEQUENCE SET ") {
        (ListKind::SequenceSet, rest)
    } else {
        return None;
    };
    Some(ListEntry {
        dump_id,
        oid,
        kind,
        rest: rest.to_owned(),
        line: text.to_owned(),
    })
}

/// A list cut in three, each given to its own `pg_restore -L`: what comes
/// before the first `INDEX ATTACH` entry, the entries from it to the last
/// one, and what comes after. `None` when there is no such entry.
///
/// Why: `pg_restore -j` attaches partitions' indexes from several sessions
/// at once, and PostgreSQL decides a partitioned index's validity as each
/// attachment commits; two sessions attaching at two levels of a
/// sub-partitioned table can each miss the other's, which leaves the top
/// index marked not valid although every partition's index is attached.
/// The middle pass runs with one job. The list is in the archive's order,
/// which satisfies every dependency, so each pass finds what it needs in
/// the ones before it.
pub fn around_index_attachments(list: &str) -> Option<[String; 3]> {
    let lines: Vec<&str> = list.lines().filter(|l| !l.starts_with(';')).collect();
    let is_attach = |line: &&str| desc_of(line).is_some_and(|d| d.starts_with("INDEX ATTACH "));
    let first = lines.iter().position(is_attach)?;
    let last = lines.iter().rposition(is_attach)?;
    let join = |part: &[&str]| {
        let mut text = part.join("\n");
        text.push('\n');
        text
    };
    Some([
        join(&lines[..first]),
        join(&lines[first..=last]),
        join(&lines[last + 1..]),
    ])
}

/// `DESC SCHEMA TAG OWNER`: the line after its ids.
fn desc_of(line: &str) -> Option<&str> {
    let (_, rest) = line.split_once("; ")?;
    let mut fields = rest.splitn(3, ' ');
    fields.next()?;
    fields.next()?;
    fields.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_data_and_sequence_entries_only() {
        let list = ";\n; Archive created at 2026-11-26\n;\n215; 1259 16389 TABLE public e postgres\n\
                    3344; 0 16389 TABLE DATA public e o'brien \"x\"\n\
                    3353; 0 0 SEQUENCE SET public s postgres\n";
        let found = entries(list);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].dump_id, 3344);
        assert_eq!(found[0].oid, 16389);
        assert_eq!(found[0].kind, ListKind::TableData);
        assert_eq!(found[0].rest, "public e o'brien \"x\"");
        assert_eq!(found[1].kind, ListKind::SequenceSet);
        assert!(found[1].line.starts_with("3353; "));
        let all = lines(list);
        assert_eq!(all.len(), 3);
        assert_eq!(
            all[0],
            ListLine {
                dump_id: 215,
                tableoid: 1259,
                oid: 16389,
                rest: "TABLE public e postgres".into()
            }
        );
    }

    #[test]
    fn cuts_around_the_index_attachments() {
        let list = ";\n; Archive\n;\n10; 1259 1 TABLE public t postgres\n\
                    20; 0 1 TABLE DATA public t postgres\n\
                    30; 1259 5 INDEX public t_i postgres\n\
                    40; 0 0 INDEX ATTACH public t_p1_i postgres\n\
                    41; 0 0 INDEX ATTACH public t_p2_i postgres\n\
                    50; 2606 6 FK CONSTRAINT public u u_t_fkey postgres\n";
        let [before, attach, after] = around_index_attachments(list).unwrap();
        assert_eq!(before.lines().count(), 3);
        assert!(before.starts_with("10; ") && before.ends_with("INDEX public t_i postgres\n"));
        assert_eq!(
            attach,
            "40; 0 0 INDEX ATTACH public t_p1_i postgres\n41; 0 0 INDEX ATTACH public t_p2_i postgres\n"
        );
        assert_eq!(
            after,
            "50; 2606 6 FK CONSTRAINT public u u_t_fkey postgres\n"
        );
        assert_eq!(
            around_index_attachments("10; 1259 1 TABLE public t postgres\n"),
            None
        );
    }
}
