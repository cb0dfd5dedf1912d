//! The stream format's post-data section: `pg_dump --section=post-data`
//! as a custom archive, in the dump's snapshot; `pg_restore` prints it
//! into `post-data.sql` (the text a plain `pg_dump` writes) and lists its
//! table of contents, whose entries, with the catalog's facts about their
//! indexes and constraints read in the same snapshot, make
//! `post-data.json`: what the restore sorts the section by.
//!
//! One archive, printed, rather than a plain dump beside a second dump
//! as an archive for its list: on NetBox's demo database, `pg_dump` of
//! the section took 0.3 to 0.5 s in either format, and each `pg_restore`
//! of the archive (listed, printed) 0.05 to 0.07 s. A second `pg_dump`
//! would cost the source, and this machine, several times more than two
//! `pg_restore` runs on a file in memory.

use std::io::Cursor;

use super::Stream;
use crate::exec::connection;
use crate::exec::process::{self, Output};
use crate::exec::scheduler::StepFailure;
use crate::manifest::Text;
use crate::plan::{Exec, StreamDump};
use crate::postgres::Tools;
use crate::postgres::dump_files::toc;
use crate::postgres::post_data::{facts, recorded};

impl Stream<'_> {
    /// `post-data.sql` and `post-data.json`, in `snapshot`.
    pub(super) fn post_data_section(
        &self,
        plan: &StreamDump,
        snapshot: &str,
    ) -> Result<(Vec<u8>, Vec<u8>), StepFailure> {
        let archive = self.pg_dump_section(&plan.post_data, snapshot)?;
        // Printed as pg_dump would have printed it: an archive keeps the
        // owners, which `--no-owner` leaves out only when printing.
        let mut print = vec!["--file=-"];
        for option in ["--no-owner", "--no-privileges"] {
            if plan.post_data.args.iter().any(|a| a.value() == option) {
                print.push(option);
            }
        }
        // Printed while the list is read and its facts looked up.
        let (sql, listed) = std::thread::scope(|scope| {
            let printed = scope.spawn(|| self.pg_restore(plan, &archive, &print));
            let listed = self.listed_with_facts(plan, snapshot, &archive);
            let printed = printed
                .join()
                .unwrap_or_else(|_| Err(StepFailure::new("pg_restore's reader panicked")));
            (printed, listed)
        });
        let (sql, (list, facts)) = (sql?, listed?);
        let described = recorded::describe(&list, &String::from_utf8_lossy(&sql), &facts);
        let json = serde_json::to_vec_pretty(&described)
            .map_err(|e| StepFailure::new(format!("cannot write post-data.json: {e}")))?;
        Ok((sql, json))
    }

    /// The archive's table of contents, and the catalog's facts about its
    /// entries in `snapshot`.
    fn listed_with_facts(
        &self,
        plan: &StreamDump,
        snapshot: &str,
        archive: &[u8],
    ) -> Result<(Vec<toc::ListLine>, recorded::Facts), StepFailure> {
        let list = self.pg_restore(plan, archive, &["--list"])?;
        let list = toc::lines(&String::from_utf8_lossy(&list));
        let mut reader = self.reader_in_snapshot(&plan.psql, snapshot)?;
        let facts = facts::read(&mut reader, &list).map_err(|e| {
            connection::failed(
                &plan.psql,
                self.cx.secrets,
                "cannot read the catalog's facts about the post-data section",
                &e,
            )
        })?;
        Ok((list, facts))
    }

    /// `pg_restore` with `args`, given `archive` on its standard input:
    /// what it prints.
    fn pg_restore(
        &self,
        plan: &StreamDump,
        archive: &[u8],
        args: &[&str],
    ) -> Result<Vec<u8>, StepFailure> {
        let tools = Tools {
            bindir: plan.contents.bindir.clone(),
        };
        let exec = Exec {
            program: Text::plain(tools.program("pg_restore").display().to_string()),
            args: args.iter().map(|a| Text::plain(*a)).collect(),
            env: Vec::new(),
            cwd: None,
            stdin: None,
            stdout: None,
        };
        let mut out = Vec::new();
        process::run_fed(
            &exec,
            self.cx.secrets,
            Box::new(Cursor::new(archive.to_vec())),
            Output::Into(&mut out),
        )?;
        Ok(out)
    }
}
