//! Each side's folders (NetBox's MEDIA_ROOT, SCRIPTS_ROOT, REPORTS_ROOT),
//! and `[source]`.

use std::fmt::Write;

use super::{DOCUMENTED_ROOT, Findings, line, quoted};
use crate::netbox::{self, FolderSetting, Install, Origin};

/// The three folders where NetBox's documentation installs it, commented.
pub(super) fn documented_folders(out: &mut String) -> std::fmt::Result {
    for (name, _) in netbox::FOLDER_SETTINGS {
        let path = format!("{DOCUMENTED_ROOT}/netbox/{name}");
        line(out, true, name, &quoted(&path))?;
    }
    Ok(())
}

/// Whether the source's `name` folder is written (and exists).
pub(super) fn source_folder_set(f: &Findings<'_>, name: &str) -> bool {
    f.source_install.is_some_and(|i| {
        i.folders
            .iter()
            .any(|folder| folder.name == name && folder.exists)
    })
}

/// The folder lines of one side; `left_out` says why a folder is written
/// commented out, if it is.
pub(super) fn folders(
    out: &mut String,
    install: Option<&Install>,
    side: &str,
    left_out: &dyn Fn(&FolderSetting) -> Option<String>,
) -> std::fmt::Result {
    let Some(install) = install else {
        writeln!(
            out,
            "# NetBox's folders (MEDIA_ROOT, SCRIPTS_ROOT, REPORTS_ROOT) on the {side}: give"
        )?;
        writeln!(
            out,
            "# `--netbox-root` (source first, then target) to fill them in, or set them here."
        )?;
        return documented_folders(out);
    };
    for folder in &install.folders {
        let FolderSetting {
            name,
            setting,
            origin,
            written,
            ..
        } = folder;
        let from = match origin {
            Origin::Configuration => format!(
                "from {}",
                install
                    .configuration
                    .as_ref()
                    .map_or("configuration.py".to_owned(), |c| c.display().to_string())
            ),
            Origin::Default => "NetBox's default: configuration.py does not set it".to_owned(),
            Origin::Expression(expr) => format!(
                "configuration.py sets it to `{expr}`, which replicate does not evaluate: check this path"
            ),
        };
        writeln!(out, "# NetBox's {setting} ({from}).")?;
        let why = left_out(folder);
        if let Some(why) = &why {
            writeln!(out, "# {why}, so it is left out:")?;
        }
        line(out, why.is_some(), name, &quoted(written))?;
    }
    Ok(())
}

pub(super) fn source(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    writeln!(out, "[source]")?;
    writeln!(out, "database = {}", quoted(&f.source_url))?;
    super::tunnel(out, f.source_tunnel.as_ref())?;
    folders(out, f.source_install, "source", &|folder| {
        (!folder.exists).then(|| "It does not exist".to_owned())
    })?;
    if f.source.netbox.is_some() {
        writeln!(
            out,
            "# No command runs on the source first: NetBox keeps its caches in Redis, not in"
        )?;
        writeln!(out, "# the database, so the dump does not depend on them.")?;
    }
    Ok(())
}
