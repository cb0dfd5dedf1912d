//! `verify --target`: the live target database compared with what the
//! dump holds, as `check` does after a restore, but for the tables the
//! target's NetBox rebuilds after a copy.

use super::error::ApplyError;
use crate::manifest::Manifest;
use crate::plan::{self, Action, Plan, StepId};
use crate::postgres::catalog::{self, Catalog, Difference};

/// The target database against the dump's catalog.
#[derive(Debug)]
pub struct TargetVerdict {
    pub database: String,
    /// Tables whose row counts differ because `invalidate-target` rebuilds
    /// them: not counted as changes.
    pub rebuilt: Vec<Rebuilt>,
    /// What differs from the dump.
    pub differences: Vec<Difference>,
    /// What the dump holds: tables, rows, every object.
    pub tables: u64,
    pub rows: u64,
    pub objects: u64,
}

/// A table NetBox rebuilds after a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// `schema.name`.
    pub table: String,
    /// The after-copy action that rebuilds it.
    pub by: &'static str,
}

/// Compares the live target database with what the dump holds.
pub fn check_target(manifest: &Manifest, plan: &Plan) -> Result<TargetVerdict, ApplyError> {
    let Some(Action::Check {
        catalog: catalog_file,
        owners,
        content,
        ..
    }) = plan.step(StepId::Check).map(|s| &s.action)
    else {
        return Err(ApplyError::NothingToCheck {
            message: "the manifest copies no database: there is no target database to check"
                .to_owned(),
            help: Some("leave out --target".to_owned()),
        });
    };
    let database = manifest.target.database.database().to_owned();
    let expected = Catalog::load(catalog_file).map_err(ApplyError::io(format!(
        "cannot read what the dump holds from {}",
        catalog_file.display()
    )))?;
    let mut found = catalog::read_database(
        &manifest.target.database,
        "target.database",
        &manifest.secrets(),
        content.then_some(&expected),
        usize::try_from(manifest.artifacts.jobs).unwrap_or(1),
    )
    .map_err(|source| ApplyError::Catalog {
        context: format!("cannot read the target database {database}"),
        source,
    })?;
    let rebuilt = rebuilt_tables(manifest, &expected, &mut found)?;
    let how = catalog::Comparison {
        owners: *owners,
        content: *content,
    };
    Ok(TargetVerdict {
        differences: catalog::compare(&expected, &found, how),
        database,
        rebuilt,
        tables: expected.tables.len() as u64,
        rows: expected.rows(),
        objects: expected.object_count(),
    })
}

/// The tables `invalidate-target` rewrites by design: rebuilt, not
/// changed. Their row counts in `found` are set to the dump's.
fn rebuilt_tables(
    manifest: &Manifest,
    expected: &Catalog,
    found: &mut Catalog,
) -> Result<Vec<Rebuilt>, ApplyError> {
    let actions = plan::after_copy_on_target(manifest, &manifest.secrets())
        .map_err(|e| ApplyError::TargetSchema { source: e.into() })?;
    let mut rebuilt = Vec::new();
    for table in &mut found.tables {
        let by = actions
            .iter()
            .find(|a| table.schema == "public" && a.rebuilds().contains(&table.name.as_str()));
        let dumped = expected
            .tables
            .iter()
            .find(|t| t.schema == table.schema && t.name == table.name);
        if let (Some(by), Some(dumped)) = (by, dumped)
            && table.rows != dumped.rows
        {
            rebuilt.push(Rebuilt {
                table: format!("{}.{}", table.schema, table.name),
                by: by.what(),
            });
            table.rows.clone_from(&dumped.rows);
        }
    }
    Ok(rebuilt)
}
