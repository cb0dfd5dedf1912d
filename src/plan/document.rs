//! The plan file: the plan as JSON, what `plan --json` prints and `plan --out`
//! writes, and what `show` and `apply PLAN` read back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;
use sha2::{Digest, Sha256};

use super::error::PlanError;
use super::graph::Plan;
use super::inspect::{Inspection, NetboxSchema, Sizes, SourceRecord};
use super::step::{Step, StepId};
use crate::io::files::write_atomically;
use crate::manifest::{Folder, Manifest, SourceFile};
use crate::remote::Place;

/// The plan file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 3;

/// A saved plan. It holds no secret: passwords appear as `***` in URLs and as
/// a reference to their origin in environments.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "replicate plan")]
pub struct PlanDocument {
    /// The plan file format; this replicate writes and reads 3 (a plan
    /// of an earlier format is refused: plan again).
    pub format_version: u32,
    /// The version of replicate that made the plan.
    pub replicate_version: String,
    /// When the plan was made (RFC 3339, UTC).
    pub created_at: String,
    pub manifest: ManifestRef,
    pub source: Endpoint,
    pub target: Endpoint,
    /// The artifacts folder; with an object store, the local cache.
    pub artifacts_dir: PathBuf,
    /// The object store holding the artifacts (`s3://bucket/prefix`), if any.
    pub artifacts_store: Option<String>,
    /// Whether the live systems were inspected (`false` for `plan --offline`).
    pub live: bool,
    /// What live planning found (server versions, sizes, folders).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// How big the source is (live plans only): for the artifacts' size
    /// and for progress.
    pub sizes: Option<Sizes>,
    /// What live planning found worth a warning.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The steps in run order.
    pub steps: Vec<PlannedStep>,
    /// `Plan: 9 steps, 2 destructive (drop netbox, replace media)`.
    pub summary: String,
    /// What live planning learnt of the source, for `source.json` (not
    /// part of a saved plan: `apply` inspects again).
    #[serde(skip)]
    #[schemars(skip)]
    pub source_record: Option<SourceRecord>,
}

/// The manifest a plan was made from. `apply PLAN` refuses the plan when the
/// manifest's SHA-256 has changed since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ManifestRef {
    pub path: PathBuf,
    pub sha256: String,
}

/// One side of the replication, secrets hidden.
#[skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Endpoint {
    /// The database URL with any password shown as `***`.
    pub database: String,
    /// The copied folders on this side.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub folders: BTreeMap<Folder, Place>,
    /// The NetBox schema live planning found in this side's database.
    pub netbox: Option<NetboxSchema>,
    /// The bastion the database is reached through (`tunnel`): the URL
    /// above is the database's own, sent to the tunnel's end at run time.
    pub tunnel: Option<String>,
}

/// A step and the steps it waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlannedStep {
    #[serde(flatten)]
    pub step: Step,
    /// The steps that must finish first.
    pub depends_on: Vec<StepId>,
    /// The steps that must have started first: this one runs beside them,
    /// reading what they write (the stream restore beside its dump).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub follows: Vec<StepId>,
    pub destructive: bool,
}

impl PlanDocument {
    /// The plan as a document; `inspection` is what live planning found
    /// (`None` for an offline plan).
    pub fn new(manifest: &Manifest, plan: &Plan, inspection: Option<&Inspection>) -> Self {
        let steps = plan
            .steps()
            .map(|step| PlannedStep {
                depends_on: plan.dependencies(step.id).into_iter().collect(),
                follows: plan.followed(step.id).into_iter().collect(),
                destructive: step.is_destructive(),
                step: step.clone(),
            })
            .collect();
        let mut doc = Self {
            format_version: FORMAT_VERSION,
            replicate_version: env!("CARGO_PKG_VERSION").to_owned(),
            created_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            manifest: ManifestRef {
                path: manifest.path.clone(),
                sha256: manifest.sha256.clone(),
            },
            source: Endpoint {
                database: manifest.source.database.redacted(),
                folders: manifest.source.folders.clone(),
                netbox: inspection.and_then(|i| i.source_netbox.clone()),
                tunnel: manifest.source.tunnel.as_ref().map(ToString::to_string),
            },
            target: Endpoint {
                database: manifest.target.database.redacted(),
                folders: manifest.target.folders.clone(),
                netbox: inspection.and_then(|i| i.target_netbox.clone()),
                tunnel: manifest.target.tunnel.as_ref().map(ToString::to_string),
            },
            artifacts_dir: manifest.artifacts.dir.clone(),
            artifacts_store: manifest.artifacts.store.clone(),
            source_record: inspection.and_then(|i| i.source.clone()),
            live: inspection.is_some(),
            notes: inspection.map(|i| i.notes.clone()).unwrap_or_default(),
            sizes: inspection.map(|i| i.sizes),
            warnings: inspection.map(|i| i.warnings.clone()).unwrap_or_default(),
            steps,
            summary: String::new(),
        };
        if inspection.is_some()
            && let Some(note) = other_formats_note(manifest, plan)
        {
            doc.notes.push(note);
        }
        doc.summary = doc.summary_line();
        doc
    }

    /// `Plan: 9 steps, 2 destructive (drop netbox, replace media)`, then
    /// the warnings.
    pub fn summary_line(&self) -> String {
        let destroys: Vec<&str> = self
            .steps
            .iter()
            .filter_map(|s| s.step.destroys.as_deref())
            .collect();
        let count = self.steps.len();
        let noun = if count == 1 { "step" } else { "steps" };
        let mut line = if destroys.is_empty() {
            format!("Plan: {count} {noun}, none destructive")
        } else {
            format!(
                "Plan: {count} {noun}, {} destructive ({})",
                destroys.len(),
                destroys.join(", ")
            )
        };
        // Warnings are repeated here, where a reader's eye lands last.
        if !self.warnings.is_empty() {
            let noun = if self.warnings.len() == 1 {
                "warning"
            } else {
                "warnings"
            };
            line.push_str(&format!(
                "; {} {noun}: {}",
                self.warnings.len(),
                self.warnings.join("; ")
            ));
        }
        line
    }

    /// SHA-256 of the steps: two plans with the same digest do the same work.
    /// The steps' `follows` is left out: the restore's own action says
    /// whether it follows the dump, and a plan saved (or a run begun)
    /// before the graph showed it keeps its digest.
    pub fn digest(&self) -> String {
        let steps: Vec<PlannedStep> = self
            .steps
            .iter()
            .map(|s| PlannedStep {
                follows: Vec::new(),
                ..s.clone()
            })
            .collect();
        let steps = serde_json::to_vec(&steps).unwrap_or_default();
        hex::encode(Sha256::digest(steps))
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// Writes the plan file (through a temporary file, flushed to disk, so a
    /// half-written plan never exists under its name).
    pub fn write(&self, path: &Path) -> Result<(), PlanError> {
        write_atomically(path, self.to_json().as_bytes()).map_err(|source| PlanError::Write {
            path: path.display().to_string(),
            source,
        })
    }

    /// Reads a plan file, refusing other format versions and anything that is
    /// not exactly a plan.
    pub fn read(path: &Path) -> Result<Self, PlanError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PlanError::Unreadable {
            path: name.clone(),
            source,
        })?;
        Self::parse(&name, &text)
    }

    pub fn parse(name: &str, text: &str) -> Result<Self, PlanError> {
        let bad = |error: &serde_json::Error| {
            let at = offset_of(text, error.line(), error.column());
            PlanError::NotAPlan {
                path: name.to_owned(),
                src: SourceFile::new(name, text),
                at: (at, 0),
                reason: error.to_string(),
            }
        };
        #[derive(Deserialize)]
        struct Version {
            format_version: u64,
        }
        let version: Version = serde_json::from_str(text).map_err(|e| bad(&e))?;
        if version.format_version != u64::from(FORMAT_VERSION) {
            let advice = if version.format_version > u64::from(FORMAT_VERSION) {
                "the plan was made by a newer replicate: run that version, or plan again with this one"
            } else {
                "plan again with this replicate"
            };
            return Err(PlanError::Version {
                path: name.to_owned(),
                found: version.format_version,
                supported: FORMAT_VERSION,
                advice: Some(advice.to_owned()),
            });
        }
        serde_json::from_str(text).map_err(|e| bad(&e))
    }
}

/// The byte offset of a 1-based line and column, for labels.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// The JSON Schema of the plan file (`schemas/plan.schema.json`).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(PlanDocument);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// A note naming the artifacts of another format or compression lying in
/// the artifacts folder (an earlier run's copies of the source), which this
/// plan neither writes nor removes.
fn other_formats_note(manifest: &Manifest, plan: &Plan) -> Option<String> {
    let produced: Vec<&str> = plan
        .steps()
        .flat_map(|s| s.produces.iter().map(|a| a.name.as_str()))
        .collect();
    let lying: Vec<String> = crate::plan::every_artifact_name(manifest)
        .into_iter()
        .filter(|name| !produced.contains(&name.as_str()))
        .filter(|name| std::fs::symlink_metadata(manifest.artifacts.dir.join(name)).is_ok())
        .collect();
    (!lying.is_empty()).then(|| {
        format!(
            "the artifacts folder also holds {} of an earlier run in another format: copies of the source that this run leaves as they are (`replicate clean` removes them)",
            lying.join(", ")
        )
    })
}
