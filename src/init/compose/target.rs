//! `[target]`: the database replaced, its folders, how NetBox is run after
//! the copy, who owns the copy, and how it is swapped in.

use std::fmt::Write;

use super::folders::{documented_folders, folders, source_folder_set};
use super::{DOCUMENTED_ROOT, Findings, PLACEHOLDER_TARGET, array, line, quoted};
use crate::netbox;

const STRATEGY: &str = "\
# swap: the new database and folders are built beside the live ones, proven
# equal to the dump, then swapped in at once; the previous ones are kept for
# `replicate rollback`.
strategy = \"swap\"
keep_previous = true
# A swap ends the sessions NetBox keeps open (CONN_MAX_AGE): set
# CONN_HEALTH_CHECKS = True in its DATABASE settings so that the first request
# after it reconnects, or restart NetBox's processes after the copy:
# invalidate = [\"/usr/bin/systemctl\", \"restart\", \"netbox\", \"netbox-rq\"]
";

pub(super) fn target(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    writeln!(out, "[target]")?;
    match &f.target_url {
        Some(url) => {
            writeln!(out, "# replicate replaces this database.")?;
            writeln!(out, "database = {}", quoted(url))?;
            super::tunnel(out, f.target_tunnel.as_ref())?;
        }
        None => {
            writeln!(
                out,
                "# The database replicate replaces: no --target was given, so this placeholder"
            )?;
            writeln!(out, "# reaches nothing until you write yours.")?;
            writeln!(out, "database = {}", quoted(PLACEHOLDER_TARGET))?;
        }
    }
    match f.target_install {
        Some(install) => folders(out, Some(install), "target", &|folder| {
            (!source_folder_set(f, folder.name))
                .then(|| format!("The source's {} folder is not set", folder.name))
        })?,
        None if f.source_install.is_some() => {
            writeln!(
                out,
                "# The target's folders: the source's are set above, but without a second"
            )?;
            writeln!(
                out,
                "# `--netbox-root` they are not copied until you set these (and [include] below)."
            )?;
            documented_folders(out)?;
        }
        None => folders(out, None, "target", &|_| None)?,
    }
    manage(out, f)?;
    owner(out, f)?;
    out.push_str(STRATEGY);
    // A NetBox serving the target holds sessions open: the swap ends them.
    let netbox = f.target_install.is_some() || f.target.is_some_and(|t| t.netbox.is_some());
    writeln!(
        out,
        "# false: `plan` refuses while anything is connected to the target; true: the"
    )?;
    writeln!(
        out,
        "# swap ends those sessions{}.",
        if netbox {
            " (NetBox's: it reconnects, see CONN_HEALTH_CHECKS above)"
        } else {
            ""
        }
    )?;
    writeln!(out, "terminate_connections = {netbox}")?;
    Ok(())
}

/// `manage`: how replicate runs the target's NetBox after the copy, from
/// the target's install (its own Python, or a package install's `netbox`
/// command); commented with the documented paths when it was not given.
fn manage(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    if f.source.netbox.is_none() {
        return Ok(());
    }
    let release = f.command_release();
    let shown = release.map_or("the target's NetBox".to_owned(), |v| format!("NetBox {v}"));
    writeln!(
        out,
        "# After the copy, replicate runs through `manage` (one `shell`) what {shown} needs to serve it:"
    )?;
    for action in netbox::after_copy(release, f.target_newer(), false, false) {
        writeln!(out, "#   {}", action.what())?;
    }
    match f.target_install.and_then(|i| i.manage_argv.clone()) {
        Some(argv) => line(out, false, "manage", &array(&argv)),
        None => {
            match f.target_install.and_then(|i| i.location.as_deref()) {
                Some(location) => writeln!(
                    out,
                    "# The target's install is on {location}, where ssh would split the script replicate\n\
                     # gives `manage`: write a command that runs it there, or run the actions by hand:"
                )?,
                None => writeln!(
                    out,
                    "# Give the target's install as a second `--netbox-root` to fill this in:"
                )?,
            }
            let argv = [
                format!("{DOCUMENTED_ROOT}/venv/bin/python3"),
                format!("{DOCUMENTED_ROOT}/netbox/manage.py"),
            ];
            line(out, true, "manage", &array(&argv))
        }
    }
}

/// `owner`: the role that owns the target database now, or the one the
/// target's NetBox connects as, so that NetBox keeps its tables.
fn owner(out: &mut String, f: &Findings<'_>) -> std::fmt::Result {
    let found = f
        .target
        .and_then(|t| t.owner.clone())
        .map(|o| (o, "the role that owns the target database now"))
        .or_else(|| {
            f.target_install
                .and_then(|i| i.database_user.clone())
                .map(|u| (u, "the USER of the target's NetBox configuration"))
        });
    writeln!(
        out,
        "# The role that owns the new database and every restored object; NetBox"
    )?;
    writeln!(out, "# must own its tables to run `migrate`.")?;
    match found {
        Some((role, why)) => {
            writeln!(out, "# This is {why}.")?;
            line(out, false, "owner", &quoted(&role))
        }
        None => {
            writeln!(
                out,
                "# Neither the target database nor its NetBox configuration was found: set it."
            )?;
            line(out, true, "owner", &quoted("netbox"))
        }
    }
}
