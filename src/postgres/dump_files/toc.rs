//! The lines of `pg_restore --list`: `ID; TABLEOID OID DESC SCHEMA TAG OWNER`.
//! Only the entries `check` needs are read: each table's data (to find its
//! `ID.dat` file in a directory dump) and each sequence's value.

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

/// The table data and sequence value entries of a `--list` output.
pub fn entries(list: &str) -> Vec<ListEntry> {
    list.lines().filter_map(entry).collect()
}

fn entry(line: &str) -> Option<ListEntry> {
    if line.starts_with(';') {
        return None;
    }
    let (id, rest) = line.split_once("; ")?;
    let dump_id = id.trim().parse().ok()?;
    // The catalog ids: `TABLEOID OID`.
    let mut fields = rest.splitn(3, ' ');
    let (_, oid, rest) = (fields.next()?, fields.next()?, fields.next()?);
    let oid = oid.parse().ok()?;
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
        line: line.to_owned(),
    })
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
    }
}
