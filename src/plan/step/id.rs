//! The steps' names and kinds.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use strum::{IntoStaticStr, VariantArray};

/// The fixed step names users write in `--steps` and scripts read in plans.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    IntoStaticStr,
    VariantArray,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum StepId {
    /// The manifest's command that makes the source flush its caches.
    InvalidateSource,
    /// The source database into the artifacts folder, with its catalog.
    Dump,
    /// The source folders packed into archives.
    Archive,
    /// Every artifact re-hashed against `SHA256SUMS`.
    Verify,
    /// `replace`: the target database dropped.
    Drop,
    /// The database the dump is restored into, made empty.
    Create,
    /// The dump loaded into the new database.
    Restore,
    /// The restored database compared with the dump's catalog.
    Check,
    /// The archives unpacked beside the target folders.
    Extract,
    /// `swap`: the new database and folders put in the live ones' place.
    Swap,
    /// The target's NetBox made to serve the copy, and its cache cleared.
    InvalidateTarget,
}

impl StepId {
    /// Every step in its canonical order, which is also a valid run order.
    pub const ALL: &[StepId] = Self::VARIANTS;

    /// The name, as plans and `--steps` write it.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The kind of work: both invalidate steps are of kind `invalidate`.
    pub fn kind(self) -> StepKind {
        match self {
            StepId::InvalidateSource | StepId::InvalidateTarget => StepKind::Invalidate,
            StepId::Dump => StepKind::Dump,
            StepId::Archive => StepKind::Archive,
            StepId::Verify => StepKind::Verify,
            StepId::Drop => StepKind::Drop,
            StepId::Create => StepKind::Create,
            StepId::Restore => StepKind::Restore,
            StepId::Check => StepKind::Check,
            StepId::Extract => StepKind::Extract,
            StepId::Swap => StepKind::Swap,
        }
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for StepId {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StepId::ALL
            .iter()
            .copied()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = StepId::ALL.iter().map(|id| id.as_str()).collect();
                format!("unknown step `{s}` (steps: {})", names.join(", "))
            })
    }
}

/// What kind of work a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum StepKind {
    Invalidate,
    Dump,
    Archive,
    Verify,
    Drop,
    Create,
    Restore,
    Check,
    Extract,
    Swap,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialized_ones_and_parse_back() {
        for &id in StepId::ALL {
            assert_eq!(
                serde_json::to_value(id).unwrap(),
                serde_json::Value::from(id.as_str())
            );
            assert_eq!(id.as_str().parse::<StepId>(), Ok(id));
        }
        assert_eq!(
            "nope".parse::<StepId>().unwrap_err(),
            "unknown step `nope` (steps: invalidate-source, dump, archive, verify, drop, \
             create, restore, check, extract, swap, invalidate-target)"
        );
    }

    #[test]
    fn all_is_in_canonical_order() {
        assert!(StepId::ALL.is_sorted());
        assert_eq!(StepId::ALL.len(), 11);
    }
}
