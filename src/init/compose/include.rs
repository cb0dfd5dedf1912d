//! `[include]`, what is copied (NetBox's change log left out), and
//! `[artifacts]`, where and how the dump is written.

use std::fmt::Write;

use indicatif::{DecimalBytes, HumanCount};

use super::{Findings, array};
use crate::manifest::DumpFormat;
use crate::netbox::{self, Releases};

pub(super) fn include(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    writeln!(out, "[include]")?;
    writeln!(out, "database = \"full\"")?;
    let mut excluded: Vec<String> = Vec::new();
    if f.source.netbox.is_some() {
        writeln!(
            out,
            "# Rows left out of the copy (the tables themselves are kept, empty):"
        )?;
        let newest = Releases::shipped().all().last().copied();
        let change_log = if f.table(netbox::CHANGE_LOG).is_some() {
            netbox::CHANGE_LOG
        } else if f.table(netbox::OLD_CHANGE_LOG).is_some() {
            netbox::OLD_CHANGE_LOG
        } else {
            f.source_release()
                .and_then(|r| r.at_least())
                .or(newest)
                .map_or(netbox::CHANGE_LOG, netbox::change_log)
        };
        let size = |name: &str| {
            f.table(name).map_or(String::new(), |t| {
                format!(
                    ", about {} rows, {}",
                    HumanCount(t.rows),
                    DecimalBytes(t.bytes)
                )
            })
        };
        let other = netbox::other_change_log(change_log).unwrap_or_default();
        let when = netbox::change_log_releases(other).unwrap_or_default();
        let this_when = netbox::change_log_releases(change_log).unwrap_or_default();
        writeln!(
            out,
            "# - {change_log}: NetBox's change log ({this_when}; {when}: {other}){}",
            size(change_log)
        )?;
        excluded.push(change_log.to_owned());
        if f.table(netbox::SEARCH_CACHE).is_some() {
            writeln!(
                out,
                "# The search cache ({}{}) is copied with the rest: no `reindex` after.",
                netbox::SEARCH_CACHE,
                size(netbox::SEARCH_CACHE)
            )?;
        }
    } else {
        writeln!(
            out,
            "# The source has no NetBox schema: nothing NetBox-specific is left out."
        )?;
    }
    writeln!(out, "exclude_table_data = {}", array(&excluded))?;
    if f.source_install.is_some() && f.target_install.is_none() {
        writeln!(
            out,
            "# The target's folders are not set above: make these true once they are."
        )?;
        for (name, _) in netbox::FOLDER_SETTINGS {
            writeln!(out, "{name} = false")?;
        }
    }
    writeln!(
        out,
        "# false: objects belong to the target's role; true: keep owners and grants."
    )?;
    writeln!(out, "owners = false")?;
    Ok(())
}

/// `[artifacts]`, for the format asked for.
pub(super) fn artifacts(out: &mut String, format: DumpFormat) -> std::fmt::Result {
    let why = match format {
        DumpFormat::Directory => "directory: dumped and restored in parallel (`jobs` at a time).",
        DumpFormat::Custom => "custom: one archive file, restored in parallel (`jobs` at a time).",
        DumpFormat::Plain => "plain: one SQL file, restored by psql in one transaction.",
        DumpFormat::Stream => {
            "stream: each table read by replicate and loaded into the target as it is written."
        }
    };
    write!(
        out,
        "\
[artifacts]
# Dumps and archives go here, next to this file. They hold the source's data
# (password hashes too): keep the folder private.
dir = \".replicate\"
# {why}
format = \"{word}\"
compression = \"none\"
jobs = 2
# content: `check` and `verify --target` compare every table's rows, not only
# their number, so that a row changed on the target afterwards is named.
check = \"content\"
",
        word = format.word()
    )
}
