//! The tunnels of a run: each side the run reaches whose manifest names a
//! `tunnel` has its database reached through that bastion while the
//! [`Tunnels`] are held. Only the URL used changes (libpq is sent to the
//! tunnel's end): plans and output show the URL as written.

use std::ops::Range;

use super::inspect::InspectError;
use super::{PlanError, Sides};
use crate::manifest::Manifest;
use crate::postgres::DbUrl;
use crate::remote::{Bastion, Forward, Tunnel};

/// What to check when a tunnel does not open.
const HELP: &str = "check that the bastion is up and that this machine may log in to it: a key in ssh's agent or configuration ([tools] ssh_config), and the bastion's host key in known_hosts (ssh runs in batch mode: it never asks)";

/// The tunnels open for a run; dropping them stops them.
#[derive(Debug, Default)]
pub struct Tunnels {
    open: Vec<(Side, Tunnel)>,
}

/// The side of the copy a tunnel leads to.
#[derive(Debug, Clone, Copy)]
enum Side {
    Source,
    Target,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Target => "target",
        }
    }

    fn tunnel(self, manifest: &Manifest) -> Option<&Bastion> {
        match self {
            Side::Source => manifest.source.tunnel.as_ref(),
            Side::Target => manifest.target.tunnel.as_ref(),
        }
    }

    fn database(self, manifest: &Manifest) -> &DbUrl {
        match self {
            Side::Source => &manifest.source.database,
            Side::Target => &manifest.target.database,
        }
    }

    fn database_mut(self, manifest: &mut Manifest) -> &mut DbUrl {
        match self {
            Side::Source => &mut manifest.source.database,
            Side::Target => &mut manifest.target.database,
        }
    }

    /// Where the manifest writes the side's tunnel.
    fn span(self, manifest: &Manifest) -> Option<Range<usize>> {
        match self {
            Side::Source => manifest.spans.source_tunnel.clone(),
            Side::Target => manifest.spans.target_tunnel.clone(),
        }
    }
}

impl Tunnels {
    /// Opens the tunnel of each side in `sides` that names one (all at
    /// once), and points that side's database at its end. A manifest that
    /// copies no database opens none.
    pub fn open(manifest: &mut Manifest, sides: Sides) -> Result<Self, PlanError> {
        let mut starting = Vec::new();
        for (side, reached) in [(Side::Source, sides.source), (Side::Target, sides.target)] {
            if let (true, true, Some(bastion)) =
                (reached, manifest.has_database(), side.tunnel(manifest))
            {
                starting.push((side, start(manifest, side, bastion)?));
            }
        }
        let mut tunnels = Self::default();
        for (side, tunnel) in starting {
            let tunnel = tunnel
                .wait_open()
                .map_err(|e| not_open(manifest, side, &e.to_string()))?;
            let database = side.database_mut(manifest);
            *database = database.through(tunnel.local());
            tunnels.open.push((side, tunnel));
        }
        Ok(tunnels)
    }

    /// What each tunnel's `ssh` said that explains a failed connection,
    /// of which libpq sees only a closed or refused one: that it ended
    /// (the bastion went away), or the last connection the bastion could
    /// not make to the database.
    pub fn notes(&self) -> Vec<String> {
        self.notes_of(|_| true)
    }

    /// [`Self::notes`] of the tunnel of one side (`source`, `target`): a
    /// step that failed talking to that side's server.
    pub fn side_notes(&self, side: &str) -> Vec<String> {
        self.notes_of(|name| name == side)
    }

    fn notes_of(&self, wanted: impl Fn(&str) -> bool) -> Vec<String> {
        self.open
            .iter()
            .filter(|(side, _)| wanted(side.name()))
            .filter_map(|(side, tunnel)| {
                let (name, bastion) = (side.name(), tunnel.bastion());
                if tunnel.ended() {
                    let last = tunnel.last_words().map(|l| format!(": {l}"));
                    let last = last.unwrap_or_default();
                    return Some(format!("the {name} tunnel through {bastion} ended{last}"));
                }
                let refused = tunnel.refused()?;
                Some(format!(
                    "the {name} tunnel through {bastion} said: {refused}"
                ))
            })
            .collect()
    }

    /// `error`, a failure to plan, with the tunnels' [`Tunnels::notes`].
    pub fn explain(&self, error: PlanError) -> PlanError {
        match error {
            PlanError::Inspect(mut e) => {
                let notes = self.notes();
                if !notes.is_empty() {
                    e.message.push_str(&format!(" ({})", notes.join("; ")));
                }
                PlanError::Inspect(e)
            }
            other => other,
        }
    }
}

/// Starts `side`'s tunnel through `bastion` to the server its URL names.
fn start(manifest: &Manifest, side: Side, bastion: &Bastion) -> Result<Tunnel, PlanError> {
    // The manifest was checked: its URL leads to one host and port.
    let (host, port) = side
        .database(manifest)
        .forward_target()
        .map_err(|e| not_open(manifest, side, &format!("{}.database: {e}", side.name())))?;
    Tunnel::start(&manifest.reach, bastion, &Forward { host, port })
        .map_err(|e| not_open(manifest, side, &e.to_string()))
}

/// The error of a tunnel that did not open, pointing at it.
fn not_open(manifest: &Manifest, side: Side, reason: &str) -> PlanError {
    PlanError::Inspect(
        InspectError::new(
            format!(
                "cannot open the tunnel to the {} database: {reason}",
                side.name()
            ),
            HELP,
        )
        .at(&manifest.file, side.span(manifest), "not reached"),
    )
}
