//! Reading facts out of the SQL `pg_dump` writes (a plain dump, or what
//! `pg_restore -f -` prints for the other formats), in one streaming pass:
//!
//! - each object's `-- Name: TAG; Type: DESC; Schema: SCHEMA; Owner: OWNER`
//!   comment says what the dump defines;
//! - each `COPY ... FROM stdin;` block carries its table's rows, one a line,
//!   up to the line `\.` (a newline inside a value is written `\n`);
//! - `SELECT pg_catalog.setval('SCHEMA.SEQUENCE', VALUE, CALLED);` sets a
//!   sequence;
//! - `SET client_encoding = 'UTF8';` names the encoding.

use std::collections::HashMap;
use std::io::{self, Read};

use super::{Facts, ObjectKind};

/// The scanner's state between lines.
#[derive(Default)]
pub struct SqlScan {
    facts: Facts,
    /// The table whose data comes next (from its `-- Data for Name:` comment).
    data_for: Option<String>,
    /// Inside a `COPY` block: its table and the rows counted so far.
    copying: Option<(String, u64)>,
    /// Each table by the text `SCHEMA TAG OWNER`, as `pg_restore --list`
    /// shows its entries.
    by_list_text: HashMap<String, String>,
}

impl SqlScan {
    /// Scans everything `reader` gives.
    pub fn read(&mut self, mut reader: impl Read) -> io::Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let mut chunk = &buf[..n];
            if !pending.is_empty() {
                // Finish the line the last chunk left open.
                match memchr::memchr(b'\n', chunk) {
                    Some(end) => {
                        pending.extend_from_slice(&chunk[..end]);
                        let line = std::mem::take(&mut pending);
                        self.line(&line);
                        chunk = &chunk[end + 1..];
                    }
                    None => {
                        pending.extend_from_slice(chunk);
                        continue;
                    }
                }
            }
            let mut start = 0;
            for end in memchr::memchr_iter(b'\n', chunk) {
                self.line(&chunk[start..end]);
                start = end + 1;
            }
            pending.extend_from_slice(&chunk[start..]);
        }
        if !pending.is_empty() {
            self.line(&pending);
        }
        Ok(())
    }

    /// The facts found, and each table by its `--list` text.
    pub fn finish(self) -> (Facts, HashMap<String, String>) {
        (self.facts, self.by_list_text)
    }

    fn line(&mut self, line: &[u8]) {
        if let Some((_, rows)) = &mut self.copying {
            if line == b"\\." {
                if let Some((table, rows)) = self.copying.take() {
                    self.facts.tables.insert(table, rows);
                }
            } else {
                *rows += 1;
            }
            return;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            return;
        };
        if let Some(rest) = text
            .strip_prefix("-- Name: ")
            .or_else(|| text.strip_prefix("-- Data for Name: "))
        {
            self.entry(rest);
        } else if text.starts_with("COPY ") && text.ends_with(" FROM stdin;") {
            if let Some(table) = self.data_for.take() {
                self.copying = Some((table, 0));
            }
        } else if let Some(rest) = text.strip_prefix("SELECT pg_catalog.setval(") {
            if let Some((name, value)) = setval(rest) {
                self.facts.sequences.insert(name, value);
            }
        } else if let Some(rest) = text.strip_prefix("SET client_encoding = '") {
            self.facts.encoding = rest.strip_suffix("';").map(str::to_owned);
        }
    }

    /// `TAG; Type: DESC; Schema: SCHEMA; Owner: OWNER[; Tablespace: ...]`.
    fn entry(&mut self, rest: &str) {
        let Some((tag, rest)) = rest.split_once("; Type: ") else {
            return;
        };
        let Some((desc, rest)) = rest.split_once("; Schema: ") else {
            return;
        };
        let (schema, owner) = match rest.split_once("; Owner: ") {
            Some((schema, owner)) => (
                schema,
                owner.split("; Tablespace: ").next().unwrap_or(owner),
            ),
            None => (rest, ""),
        };
        let name = format!("{schema}.{tag}");
        match desc {
            "TABLE" => {
                self.facts.tables.entry(name.clone()).or_insert(0);
                self.by_list_text
                    .insert(format!("{schema} {tag} {owner}"), name);
            }
            "TABLE DATA" => self.data_for = Some(name),
            "SEQUENCE" => {
                self.facts.sequences.entry(name).or_insert(None);
            }
            _ => {
                if let Some(kind) = ObjectKind::of_entry(desc) {
                    // A function's tag carries its arguments: `f(integer)`.
                    let name = match kind {
                        ObjectKind::Function => name
                            .split_once('(')
                            .map_or(name.clone(), |(n, _)| n.to_owned()),
                        _ => name,
                    };
                    self.facts.add_object(kind, name);
                }
            }
        }
    }
}

/// `'public.x_id_seq', 20, true);` as `("public.x_id_seq", Some(20))`.
fn setval(rest: &str) -> Option<(String, Option<i64>)> {
    let rest = rest.strip_prefix('\'')?;
    let end = literal_end(rest)?;
    let name = unquote_qualified(&rest[..end].replace("''", "'"));
    let args: Vec<&str> = rest[end + 1..]
        .trim_start_matches(',')
        .trim_end_matches(");")
        .split(',')
        .map(str::trim)
        .collect();
    let value: i64 = args.first()?.parse().ok()?;
    let called = args.get(1).is_none_or(|c| *c == "true");
    Some((name, called.then_some(value)))
}

/// Where a single-quoted literal's content ends (`''` is a quote inside).
fn literal_end(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\'' {
            if bytes.get(i + 1) == Some(&b'\'') {
                i += 2;
                continue;
            }
            return Some(i);
        }
        i += 1;
    }
    None
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

    const DUMP: &str = "\
--
-- PostgreSQL database dump
--

SET client_encoding = 'UTF8';

--
-- Name: dcim_device; Type: TABLE; Schema: public; Owner: o'brien \"x\"
--

CREATE TABLE public.dcim_device (id integer);

--
-- Name: core_objectchange; Type: TABLE; Schema: public; Owner: netbox
--

--
-- Name: dcim_device_id_seq; Type: SEQUENCE; Schema: public; Owner: netbox
--

--
-- Name: f(integer, text); Type: FUNCTION; Schema: public; Owner: netbox
--

--
-- Data for Name: dcim_device; Type: TABLE DATA; Schema: public; Owner: o'brien \"x\"
--

COPY public.dcim_device (id) FROM stdin;
1
2\\nstill two
3
\\.


--
-- Name: dcim_device_id_seq; Type: SEQUENCE SET; Schema: public; Owner: netbox
--

SELECT pg_catalog.setval('public.dcim_device_id_seq', 3, true);
SELECT pg_catalog.setval('public.\"Odd \"\"seq\"\"\"', 1, false);

--
-- Name: dcim_device dcim_device_pkey; Type: CONSTRAINT; Schema: public; Owner: netbox
--

--
-- Name: dcim_device_name; Type: INDEX; Schema: public; Owner: netbox; Tablespace: 
--
";

    #[test]
    fn reads_every_fact_of_a_dump() {
        // Lines split across reads must not matter.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(7).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut scan = SqlScan::default();
        scan.read(Trickle(DUMP.as_bytes())).unwrap();
        let (facts, by_list) = scan.finish();
        assert_eq!(facts.encoding.as_deref(), Some("UTF8"));
        assert_eq!(facts.tables["public.dcim_device"], 3);
        assert_eq!(facts.tables["public.core_objectchange"], 0);
        assert_eq!(facts.sequences["public.dcim_device_id_seq"], Some(3));
        assert_eq!(facts.sequences["public.Odd \"seq\""], None);
        assert_eq!(facts.object_count(), 3);
        assert_eq!(
            facts.objects[&ObjectKind::Function]["public.f"],
            1,
            "{facts:?}"
        );
        assert_eq!(
            by_list["public dcim_device o'brien \"x\""],
            "public.dcim_device"
        );
    }

    #[test]
    fn qualified_names_are_unquoted() {
        assert_eq!(unquote_qualified("public.x"), "public.x");
        assert_eq!(unquote_qualified("\"My Schema\".\"a.b\""), "My Schema.a.b");
    }
}
