//! How a saved plan differs from the plan made now, in words: a stale plan
//! is refused with the step and what changed in it.

use std::path::Path;

use super::document::PlanDocument;
use super::error::PlanError;
use super::planner::plan;
use super::step::{Action, Exec, Step, StepId};
use crate::manifest::Manifest;

impl PlanDocument {
    /// Refuses this saved plan (read from `path`) when its manifest changed
    /// since it was made.
    pub fn check_still_valid(&self, path: &Path, manifest: &Manifest) -> Result<(), PlanError> {
        if self.manifest.sha256 == manifest.sha256 {
            return Ok(());
        }
        Err(PlanError::Stale {
            path: path.display().to_string(),
            reason: format!(
                "{} changed since the plan was made",
                self.manifest.path.display()
            ),
        })
    }

    /// Refuses this saved plan when its steps are not the ones the manifest
    /// plans now (`live`, the plan made now, for a live saved plan; an
    /// offline one is compared with an offline plan): the systems changed,
    /// or the file was edited by hand.
    pub fn check_same_steps(
        &self,
        path: &Path,
        manifest: &Manifest,
        live: &PlanDocument,
    ) -> Result<(), PlanError> {
        let offline;
        let now = if self.live {
            live
        } else {
            offline = PlanDocument::new(manifest, &plan(manifest, None, None)?, None);
            &offline
        };
        if self.digest() == now.digest() {
            return Ok(());
        }
        let difference = self
            .difference(now)
            .unwrap_or_else(|| "the steps' order or content changed".to_owned());
        Err(PlanError::Stale {
            path: path.display().to_string(),
            reason: format!(
                "its steps differ from what the manifest plans now (the systems changed, or the file was edited): {difference}"
            ),
        })
    }

    /// The first way in which this plan's steps differ from `now`'s, in
    /// words, or `None` when they do the same work.
    pub fn difference(&self, now: &PlanDocument) -> Option<String> {
        let ids =
            |doc: &PlanDocument| -> Vec<StepId> { doc.steps.iter().map(|s| s.step.id).collect() };
        let (saved_ids, now_ids) = (ids(self), ids(now));
        if saved_ids != now_ids {
            let list = |ids: &[StepId]| {
                ids.iter()
                    .map(|id| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Some(format!(
                "it has the steps {}, and the manifest now plans {}",
                list(&saved_ids),
                list(&now_ids)
            ));
        }
        let (saved, current) = self.steps.iter().zip(&now.steps).find(|(a, b)| a != b)?;
        let id = saved.step.id;
        let (a, b) = (&saved.step, &current.step);
        let change = |what: &str, was: String, is: String| {
            format!("step `{id}`: {what} was\n    {was}\n  and is now\n    {is}")
        };
        Some(if a.description != b.description {
            change(
                "its description",
                a.description.clone(),
                b.description.clone(),
            )
        } else if a.action != b.action {
            format!("step `{id}`: {}", action_difference(&a.action, &b.action))
        } else if a.produces != b.produces || a.consumes != b.consumes {
            change(
                "what it reads and writes",
                artifacts_text(a),
                artifacts_text(b),
            )
        } else if a.destroys != b.destroys || saved.destructive != current.destructive {
            change(
                "what it destroys",
                a.destroys.clone().unwrap_or_else(|| "nothing".into()),
                b.destroys.clone().unwrap_or_else(|| "nothing".into()),
            )
        } else {
            // The steps it waits for, then those it follows.
            let list = |step: &super::document::PlannedStep| {
                let after = step.depends_on.iter().map(|id| id.as_str().to_owned());
                let follows = step.follows.iter().map(|id| format!("{id} (follows)"));
                after.chain(follows).collect::<Vec<_>>().join(", ")
            };
            change("the steps it waits for", list(saved), list(current))
        })
    }
}

/// How two actions differ, for messages: the words of a command that
/// differ, or both actions in full.
fn action_difference(saved: &Action, now: &Action) -> String {
    if let (Some(a), Some(b)) = (saved.single_command(), now.single_command())
        && std::mem::discriminant(saved) == std::mem::discriminant(now)
        && a != b
        && a.program == b.program
        && a.env == b.env
    {
        let only = |x: &Exec, y: &Exec| -> String {
            let words: Vec<String> = x
                .args
                .iter()
                .filter(|w| !y.args.contains(w))
                .map(|w| format!("`{w}`"))
                .collect();
            if words.is_empty() {
                "its arguments in another order".to_owned()
            } else {
                words.join(" ")
            }
        };
        return format!(
            "its command has {} where the manifest now plans {}",
            only(a, b),
            only(b, a)
        );
    }
    let text = |action: &Action| match action {
        Action::Run(exec) => exec.display(),
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    format!("its work was `{}` and is now `{}`", text(saved), text(now))
}

fn artifacts_text(step: &Step) -> String {
    let names = |list: &[super::Artifact]| {
        list.iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "reads [{}], writes [{}]",
        names(&step.consumes),
        names(&step.produces)
    )
}
