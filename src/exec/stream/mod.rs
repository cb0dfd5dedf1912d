//! The stream format at run time: the dump reads one snapshot of the
//! source into a folder of parts (the schema's sections, each table's rows
//! as COPY text), and the restore loads them, each table's keys built as
//! soon as its rows are in. Under `swap` the restore follows the dump
//! while it writes, through the [`Hub`]; otherwise it reads the folder.
//!
//! - `dump.rs`: the dump step, its snapshot and the schema's sections
//! - `tables.rs`: which tables the dump reads, and their rows read
//! - `post_data.rs`, `sequences.rs`: what the dump writes besides the rows
//! - `hub.rs`: what the dump has written so far, shared with the restore
//! - `input.rs`, `restore.rs`: where the restore reads, and the restore
//! - `work.rs`: the restore's tasks, on the ready queue every run shares

mod dump;
mod hub;
mod input;
mod post_data;
mod restore;
mod sequences;
mod tables;
mod work;

pub(super) use self::hub::Hub;

use std::collections::BTreeMap;

use super::scheduler::{StepFailure, StepResult};
use super::steps::{DumpCatalog, Snapshot, StepContext, StepWork};
use crate::plan::{Exec, Step, StreamDump, StreamRestore};
use crate::postgres::catalog::Catalog;
use crate::postgres::libpq::{CancelGroup, Connection};

/// A stream format step: its `dump` (`A` is [`StreamDump`]) or its
/// `restore` ([`StreamRestore`]).
pub(super) struct StreamStep<'a, A> {
    pub(super) step: &'a Step,
    pub(super) action: &'a A,
}

impl StepWork for StreamStep<'_, StreamDump> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        Stream { cx }.stream_dump(self.step, self.action)
    }
}

impl StepWork for StreamStep<'_, StreamRestore> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        Stream { cx }.stream_restore(self.step, self.action)
    }
}

/// A stream step's work: what it may touch, its action passed along.
struct Stream<'a> {
    cx: &'a StepContext<'a>,
}

impl Stream<'_> {
    /// A connection to the source in a read-only transaction that sees
    /// the dump's `snapshot`, cancelled with the `group`'s readers.
    fn source_in_snapshot(
        &self,
        psql: &Exec,
        snapshot: &str,
        group: &CancelGroup,
    ) -> Result<Connection, StepFailure> {
        Snapshot {
            exec: psql,
            name: snapshot,
            readers: group,
        }
        .connect(self.cx.secrets)
    }

    /// The source's catalog in `snapshot`, as the dump's contents say.
    fn source_catalog(
        &self,
        plan: &StreamDump,
        snapshot: &str,
        settings: Option<BTreeMap<String, String>>,
        group: &CancelGroup,
    ) -> Result<Catalog, StepFailure> {
        let catalog = DumpCatalog {
            secrets: self.cx.secrets,
            contents: &plan.contents,
        };
        let at = Snapshot {
            exec: &plan.psql,
            name: snapshot,
            readers: group,
        };
        catalog.source_catalog(at, settings)
    }
}
