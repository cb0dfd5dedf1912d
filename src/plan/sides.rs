//! Which of the two systems a run talks to. `apply --steps dump,archive`
//! on the machine next to production never needs the target, and `apply
//! --steps verify,create,restore,...` on a staging machine never needs the
//! source: it plans with what the producer recorded (`source.json`).

use super::StepId;

/// The systems a run needs to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sides {
    pub source: bool,
    pub target: bool,
}

impl Sides {
    pub const BOTH: Sides = Sides {
        source: true,
        target: true,
    };

    /// The sides `steps` touch; every step (no `--steps`) touches both.
    pub fn for_steps(steps: Option<&[StepId]>) -> Self {
        let Some(steps) = steps else {
            return Self::BOTH;
        };
        Self {
            source: steps.iter().any(|s| s.reads_source()),
            target: steps.iter().any(|s| s.touches_target()),
        }
    }
}

impl StepId {
    /// Steps that read the source database or its folders.
    pub fn reads_source(self) -> bool {
        matches!(
            self,
            StepId::InvalidateSource | StepId::Dump | StepId::Archive
        )
    }

    /// Steps that read or change the target database or its folders.
    pub fn touches_target(self) -> bool {
        !self.reads_source() && self != StepId::Verify
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producers_and_consumers_each_need_one_side() {
        let producer = Sides::for_steps(Some(&[StepId::Dump, StepId::Archive]));
        assert_eq!(
            producer,
            Sides {
                source: true,
                target: false
            }
        );
        let consumer = Sides::for_steps(Some(&[
            StepId::Verify,
            StepId::Create,
            StepId::Restore,
            StepId::Check,
            StepId::Extract,
            StepId::Swap,
        ]));
        assert_eq!(
            consumer,
            Sides {
                source: false,
                target: true
            }
        );
        assert_eq!(Sides::for_steps(None), Sides::BOTH);
        let verify = Sides::for_steps(Some(&[StepId::Verify]));
        assert_eq!(
            verify,
            Sides {
                source: false,
                target: false
            }
        );
    }
}
