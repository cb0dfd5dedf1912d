//! Where the stream restore reads: the dump running beside it (through
//! the [`Hub`]), or the dump's complete folder.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use super::hub::{Hub, Part};
use crate::exec::scheduler::StepFailure;
use crate::postgres::dump_files::stream::{
    POST_DATA, POST_DATA_ENTRIES, PRE_DATA, SEQUENCES, StreamTable,
};
use crate::postgres::post_data::TableName;
use crate::postgres::quote::sql_qualified;

/// Where the restore reads from.
pub(super) enum Input<'a> {
    /// The dump running beside it.
    Live(&'a Arc<Hub>),
    /// The complete folder.
    Files {
        folder: &'a Path,
        listing: Vec<StreamTable>,
    },
}

/// A table to load: its name, quoted, its statement, its rows.
pub(super) struct Table {
    pub(super) name: TableName,
    pub(super) qualified: String,
    pub(super) copy_in: String,
    pub(super) rows: Box<dyn Read + Send>,
}

impl Input<'_> {
    pub(super) fn part(&self, part: Part) -> Result<Vec<u8>, StepFailure> {
        match self {
            Input::Live(hub) => hub
                .part(part)
                .map(|bytes| bytes.as_ref().clone())
                .map_err(StepFailure::new),
            Input::Files { folder, .. } => {
                let name = match part {
                    Part::PreData => PRE_DATA,
                    Part::PostData => POST_DATA,
                    Part::PostDataEntries => POST_DATA_ENTRIES,
                    Part::Sequences => SEQUENCES,
                };
                let path = folder.join(name);
                std::fs::read(&path)
                    .map_err(|e| StepFailure::new(format!("cannot read {}: {e}", path.display())))
            }
        }
    }

    /// `post-data.json`, `None` in a folder without one (written by an
    /// older replicate).
    pub(super) fn recorded(&self) -> Result<Option<Vec<u8>>, StepFailure> {
        match self {
            Input::Files { folder, .. } if !folder.join(POST_DATA_ENTRIES).exists() => Ok(None),
            _ => self.part(Part::PostDataEntries).map(Some),
        }
    }

    /// How many tables the dump reads, once it knows.
    pub(super) fn count(&self) -> Result<usize, StepFailure> {
        match self {
            Input::Live(hub) => hub.count().map_err(StepFailure::new),
            Input::Files { listing, .. } => Ok(listing.len()),
        }
    }

    /// The `index`th table, once the dump started it; `None` past the last.
    pub(super) fn table(&self, index: usize) -> Result<Option<Table>, StepFailure> {
        match self {
            Input::Live(hub) => {
                Ok(hub
                    .next_table(index)
                    .map_err(StepFailure::new)?
                    .map(|started| Table {
                        name: TableName::new(&started.schema, &started.table),
                        qualified: sql_qualified(&started.schema, &started.table),
                        copy_in: started.copy_in,
                        rows: Box::new(hub.reader(started.index)),
                    }))
            }
            Input::Files { folder, listing } => listing
                .get(index)
                .map(|t| {
                    let path = folder.join(&t.file);
                    let file = File::open(&path).map_err(|e| {
                        StepFailure::new(format!("cannot read {}: {e}", path.display()))
                    })?;
                    Ok(Table {
                        name: TableName::new(&t.schema, &t.table),
                        qualified: sql_qualified(&t.schema, &t.table),
                        copy_in: t.copy_in.clone(),
                        rows: Box::new(file),
                    })
                })
                .transpose(),
        }
    }
}
