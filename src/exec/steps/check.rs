//! `check`: the restored database proven equal to what the dump holds.

use std::path::Path;

use crate::display::units::{count, thousands};
use crate::exec::runner::StepRunner;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::io::compression::Compression;
use crate::manifest::Strategy;
use crate::postgres::DumpFormat;
use crate::postgres::facts::{self, Difference, Facts};
use crate::store::journal::CheckRecord;

/// How many differences an error lists before it counts the rest.
const SHOWN: usize = 20;

impl StepRunner<'_> {
    pub(in crate::exec) fn check(
        &self,
        dump: &Path,
        format: DumpFormat,
        compression: Compression,
        database: &str,
        sanitized: Option<&Path>,
    ) -> StepResult {
        let (mut expected, found) = self.facts_of(dump, format, compression, database)?;
        if let Some(folder) = sanitized {
            facts::sanitized::add_rows(&mut expected, folder).map_err(|e| {
                StepFailure::new(format!(
                    "cannot count the sanitized rows in {}: {e}",
                    folder.display()
                ))
            })?;
        }
        let differences = facts::compare(&expected, &found);
        let record = record(&expected, &differences);
        if differences.is_empty() {
            return Ok(StepReport {
                note: Some(format!(
                    "{}, {}, {} equal to the dump",
                    count(record.tables, "table", "tables"),
                    plural_thousands(record.rows, "row", "rows"),
                    plural_thousands(record.objects, "object", "objects"),
                )),
                check: Some(record),
                ..StepReport::default()
            });
        }
        let mut message = format!(
            "{database} differs from the dump in {}:",
            count(differences.len() as u64, "way", "ways")
        );
        for difference in differences.iter().take(SHOWN) {
            message.push_str(&format!("\n  {difference}"));
        }
        if differences.len() > SHOWN {
            message.push_str(&format!("\n  and {} more", differences.len() - SHOWN));
        }
        let help = match self.manifest.target.strategy {
            Strategy::Swap => format!(
                "the target {} was not touched; {database} is left for a look (the next run drops it)",
                self.manifest.target.database.database()
            ),
            Strategy::Replace => "the restored target does not hold what was dumped: replicate again, or restore a backup".to_owned(),
        };
        Err(StepFailure::new(message).with_help(help))
    }

    /// What the dump holds and what `database` holds, read at the same time.
    fn facts_of(
        &self,
        dump: &Path,
        format: DumpFormat,
        compression: Compression,
        database: &str,
    ) -> Result<(Facts, Facts), StepFailure> {
        let tools = &self.manifest.tools;
        let url = self.manifest.target.database.with_database(database);
        let sessions = usize::try_from(self.manifest.artifacts.jobs).unwrap_or(1);
        let (expected, found) = std::thread::scope(|scope| {
            let expected = scope.spawn(|| facts::dump::read(tools, dump, format, compression));
            let found =
                facts::database::read(tools, &url, "target.database", self.secrets, sessions);
            (expected.join(), found)
        });
        let expected = expected
            .map_err(|_| StepFailure::new("reading the dump's facts panicked"))?
            .map_err(|e| StepFailure::new(format!("cannot read what the dump holds: {e}")))?;
        let found = found.map_err(|e| StepFailure::new(format!("cannot read {database}: {e}")))?;
        Ok((expected, found))
    }
}

fn record(expected: &Facts, differences: &[Difference]) -> CheckRecord {
    CheckRecord {
        tables: expected.tables.len() as u64,
        rows: expected.rows(),
        sequences: expected.sequences.len() as u64,
        objects: expected.object_count(),
        differences: differences.iter().map(ToString::to_string).collect(),
    }
}

/// `21,345 rows`.
fn plural_thousands(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}
