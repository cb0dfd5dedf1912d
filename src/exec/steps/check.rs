//! `check`: the restored database proven equal to what the dump holds,
//! catalog against catalog.

use std::path::Path;

use indicatif::HumanCount;

use crate::display::units::count;
use crate::exec::scheduler::{StepFailure, StepReport, StepResult};
use crate::plan::DatabaseRef;
use crate::postgres::catalog::{self, Catalog, Comparison, Difference};
use crate::store::journal::CheckRecord;

use super::context::{StepContext, StepWork};
use super::maintenance::parsed;

/// How many differences an error lists before it counts the rest.
const SHOWN: usize = 20;

/// `check`: the restored database read and compared with the catalog.
pub(in crate::exec) struct Check<'a> {
    /// The dump's catalog.
    pub(in crate::exec) catalog: &'a Path,
    /// The restored database's name, and how to reach it.
    pub(in crate::exec) database: &'a str,
    pub(in crate::exec) url: &'a DatabaseRef,
    pub(in crate::exec) how: Comparison,
    /// Sessions reading it.
    pub(in crate::exec) jobs: u32,
    /// Under `swap`: the live target, untouched when the check fails.
    pub(in crate::exec) untouched: Option<&'a str>,
}

impl StepWork for Check<'_> {
    fn run(&self, cx: &StepContext<'_>) -> StepResult {
        let Check {
            catalog: catalog_file,
            database,
            url,
            how,
            jobs,
            untouched,
        } = *self;
        let expected = Catalog::load(catalog_file).map_err(|e| {
            StepFailure::new(format!(
                "cannot read what the dump holds from {}: {e}",
                catalog_file.display()
            ))
        })?;
        let (url, secret) = (parsed(url)?, &url.secret);
        let sessions = usize::try_from(jobs).unwrap_or(1);
        let content = how.content.then_some(&expected);
        let found = catalog::read_database(&url, secret, cx.secrets, content, sessions)
            .map_err(|e| StepFailure::new(format!("cannot read {database}: {e}")))?;
        let differences = catalog::compare(&expected, &found, how);
        let record = record(&expected, &differences);
        if differences.is_empty() {
            return Ok(StepReport {
                note: Some(format!(
                    "{}, {}, {} equal to the dump{}",
                    count(record.tables, "table", "tables"),
                    plural_thousands(record.rows, "row", "rows"),
                    plural_thousands(record.objects, "object", "objects"),
                    if how.content {
                        ", content included"
                    } else {
                        ""
                    }
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
        let help = match untouched {
            Some(target) => format!(
                "the target {target} was not touched; {database} is left for a look (the next run drops it)"
            ),
            None => "the restored target does not hold what was dumped: replicate again, or restore a backup".to_owned(),
        };
        Err(StepFailure::new(message).with_help(help))
    }
}

fn record(expected: &Catalog, differences: &[Difference]) -> CheckRecord {
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
    format!("{} {}", HumanCount(n), if n == 1 { one } else { many })
}
