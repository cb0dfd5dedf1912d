//! The `swap` step: the new database and folders put in the place of the
//! live ones at once.

use super::context::Planner;
use super::database::{NEXT, PREVIOUS};
use super::folders::FolderArtifacts;
use crate::plan::step::{Action, DatabaseSwap, FolderSwap, Step, StepId};
use crate::postgres::names::companion;

impl Planner<'_> {
    pub(super) fn swap(&self, copied: &FolderArtifacts) -> Step {
        let m = self.manifest;
        let t = &m.target;
        let database = m.has_database().then(|| {
            let target = t.database.database().to_owned();
            DatabaseSwap {
                next: companion(&target, NEXT),
                previous: companion(&target, PREVIOUS),
                target,
                terminate_connections: t.terminate_connections,
                maintenance: self.maintenance(),
            }
        });
        let folders: Vec<FolderSwap> = copied
            .iter()
            .map(|(c, _, _)| FolderSwap {
                name: c.folder,
                folder: c.target.clone(),
                next: c.target.beside("next"),
                previous: c.target.beside("prev"),
                reach: self.reach_of(&c.target),
            })
            .collect();
        let mut what = Vec::new();
        let mut destroys = Vec::new();
        if let Some(db) = &database {
            what.push(format!(
                "database {} becomes {} and {} becomes {}{}",
                db.target,
                db.previous,
                db.next,
                db.target,
                if db.terminate_connections {
                    ", its open sessions ended"
                } else {
                    ""
                }
            ));
            destroys.push(format!("replace {}", db.target));
        }
        for folder in &folders {
            what.push(format!(
                "{} folder {} exchanged with {}",
                folder.name, folder.folder, folder.next
            ));
        }
        if !folders.is_empty() {
            destroys.push(format!("replace {}", Self::folder_names(copied)));
        }
        let kept = if t.keep_previous {
            "the replaced ones are kept for `replicate rollback`"
        } else {
            "the replaced ones are removed (keep_previous = false)"
        };
        Step {
            id: StepId::Swap,
            kind: StepId::Swap.kind(),
            description: format!("swap in at once: {}; {kept}", what.join("; ")),
            action: Action::Swap {
                database,
                folders,
                keep_previous: t.keep_previous,
            },
            produces: vec![],
            consumes: vec![],
            destroys: Some(destroys.join(", ")),
            server: None,
        }
    }
}
