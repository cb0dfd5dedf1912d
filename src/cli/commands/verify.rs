//! `replicate verify`: re-hash the artifacts against `SHA256SUMS`.

use std::path::Path;

use super::super::error::Error;
use super::super::exit;
use super::super::load::load_manifest_for;
use super::super::output::print;
use indicatif::{DecimalBytes, HumanCount};

use crate::display::units::count;
use crate::exec::{self, ApplyError};
use crate::io::sha256sum;
use crate::manifest::Manifest;
use crate::media;
use crate::plan::{self, Action, Sides, StepId};
use crate::postgres::catalog::{self, Catalog};

pub fn run(path: &Path, folders: bool, target: bool) -> Result<u8, Error> {
    // The artifacts alone: neither system is reached, but for `--target`.
    let manifest = load_manifest_for(
        path,
        Sides {
            source: false,
            target,
        },
    )?;
    let (plan, _) = plan::offline(&manifest)?;
    let artifacts = exec::open_artifacts(&manifest)?;
    if artifacts.remote().is_some() {
        artifacts.create()?;
        artifacts
            .pull()
            .map_err(|e| Error::Io(format!("cannot read {}: {e}", artifacts.location())))?;
    }
    let sums = artifacts
        .read_sums()
        .map_err(|e| Error::Io(format!("cannot read SHA256SUMS: {e}")))?;
    let mut problems = Vec::new();
    for artifact in plan.steps().flat_map(|s| s.produces.iter()) {
        let checked = artifacts
            .fetch(&artifact.name, &sums)
            .and_then(|()| artifacts.verify_artifact(&artifact.name, &sums));
        match checked {
            Ok(bytes) => print(&format!(
                "ok      {} ({})\n",
                artifact.name,
                DecimalBytes(bytes)
            )),
            Err(mismatch) => {
                print(&format!("FAILED  {mismatch}\n"));
                problems.push(mismatch.to_string());
            }
        }
    }
    if folders {
        problems.extend(check_folders(&plan)?);
    }
    if target && problems.is_empty() {
        problems.extend(check_target(&manifest, &plan)?);
    }
    if problems.is_empty() {
        return Ok(exit::SUCCESS);
    }
    Err(ApplyError::NotReady {
        message: problems.join("; "),
        help: Some("produce the artifacts again with `replicate apply`".to_owned()),
    }
    .into())
}

/// Compares the live target database with what the dump holds, as `check`
/// does after a restore.
fn check_target(manifest: &Manifest, plan: &plan::Plan) -> Result<Vec<String>, Error> {
    let Some(Action::Check {
        catalog: catalog_file,
        owners,
        content,
        ..
    }) = plan.step(StepId::Check).map(|s| &s.action)
    else {
        return Err(Error::NothingToCheck {
            message: "the manifest copies no database: there is no target database to check"
                .to_owned(),
            help: Some("leave out --target".to_owned()),
        });
    };
    let database = manifest.target.database.database();
    let expected = Catalog::load(catalog_file).map_err(|e| {
        Error::Io(format!(
            "cannot read what the dump holds from {}: {e}",
            catalog_file.display()
        ))
    })?;
    let mut found = catalog::read_database(
        &manifest.target.database,
        "target.database",
        &manifest.secrets(),
        content.then_some(&expected),
        usize::try_from(manifest.artifacts.jobs).unwrap_or(1),
    )
    .map_err(|e| Error::Io(format!("cannot read the target database {database}: {e}")))?;
    // The tables invalidate-target rewrites by design: rebuilt, not changed.
    let rebuilt = plan::after_copy_on_target(manifest, &manifest.secrets()).map_err(|e| {
        Error::Io(format!(
            "cannot read the target's NetBox schema: {}",
            e.message
        ))
    })?;
    for table in &mut found.tables {
        let by = rebuilt
            .iter()
            .find(|a| table.schema == "public" && a.rebuilds().contains(&table.name.as_str()));
        let dumped = expected
            .tables
            .iter()
            .find(|t| t.schema == table.schema && t.name == table.name);
        if let (Some(by), Some(dumped)) = (by, dumped)
            && table.rows != dumped.rows
        {
            print(&format!(
                "rebuilt     table {}.{} (by invalidate-target: {})\n",
                table.schema,
                table.name,
                by.what()
            ));
            table.rows.clone_from(&dumped.rows);
        }
    }
    let how = catalog::Comparison {
        owners: *owners,
        content: *content,
    };
    let differences = catalog::compare(&expected, &found, how);
    for difference in &differences {
        print(&format!("changed     {difference}\n"));
    }
    if differences.is_empty() {
        print(&format!(
            "ok      {database} equals the dump ({}, {} rows, {})\n",
            count(expected.tables.len() as u64, "table", "tables"),
            HumanCount(expected.rows()),
            count(expected.object_count(), "object", "objects"),
        ));
    }
    Ok(differences
        .iter()
        .map(|d| format!("the target database changed: {d}"))
        .collect())
}

/// Compares each copied target folder with its `<db>_<folder>.sha256`.
fn check_folders(plan: &plan::Plan) -> Result<Vec<String>, Error> {
    let Some(Action::Extract { folders, .. }) = plan.step(StepId::Extract).map(|s| &s.action)
    else {
        return Err(Error::NothingToCheck {
            message: "the manifest copies no folder: there is no target folder to check".to_owned(),
            help: Some(
                "set both paths of media, scripts or reports, or leave out --media".to_owned(),
            ),
        });
    };
    let mut problems = Vec::new();
    for folder in folders {
        let into = &folder.into;
        let sums =
            sha256sum::read_files(&folder.file_sums).map_err(|e| Error::Io(e.to_string()))?;
        let found = media::compare(into, &sums).map_err(|e| Error::Io(e.to_string()))?;
        let before = problems.len();
        for (label, paths) in [
            ("missing", &found.missing),
            ("changed", &found.changed),
            ("unexpected", &found.unexpected),
        ] {
            for path in paths {
                print(&format!("{label:<11} {}\n", into.join(path).display()));
                problems.push(format!("{label} {} in {}", path.display(), folder.name));
            }
        }
        if problems.len() == before {
            print(&format!(
                "ok      {} ({} match)\n",
                into.display(),
                count(found.checked, "file", "files")
            ));
        }
    }
    Ok(problems)
}
