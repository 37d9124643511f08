//! Run statuses and the one place that says which status may follow which.

use std::fmt;
use std::str::FromStr;

/// The lifecycle of a run, as in Dagster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RunStatus {
    /// Created and waiting for the daemon to launch it.
    Queued,
    /// Claimed; a launcher is starting its worker.
    Starting,
    /// A worker is executing it.
    Started,
    Success,
    Failure,
    /// Cancellation was asked for; the worker is being stopped.
    Canceling,
    Canceled,
}

/// A status change that the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a run cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: RunStatus,
    pub to: RunStatus,
}

impl RunStatus {
    pub const ALL: [RunStatus; 7] = [
        Self::Queued,
        Self::Starting,
        Self::Started,
        Self::Success,
        Self::Failure,
        Self::Canceling,
        Self::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "QUEUED",
            Self::Starting => "STARTING",
            Self::Started => "STARTED",
            Self::Success => "SUCCESS",
            Self::Failure => "FAILURE",
            Self::Canceling => "CANCELING",
            Self::Canceled => "CANCELED",
        }
    }

    /// A finished run never changes status again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Success | Self::Failure | Self::Canceled)
    }

    /// Statuses a run may be created in: queued for the daemon, or starting for a run that the
    /// creating process executes itself (`orch run`).
    pub fn is_initial(self) -> bool {
        matches!(self, Self::Queued | Self::Starting)
    }

    /// The lifecycle. Every status change in orch is checked against this table and nothing else.
    pub fn can_become(self, to: RunStatus) -> bool {
        use RunStatus::*;
        matches!(
            (self, to),
            (Queued, Starting | Canceled | Failure)
                | (Starting, Started | Failure | Canceling | Canceled)
                | (Started, Success | Failure | Canceling)
                | (Canceling, Canceled | Failure)
        )
    }

    /// The statuses from which `to` may be reached: what a conditional update must find in the
    /// row for the change to apply.
    pub fn predecessors(to: RunStatus) -> Vec<RunStatus> {
        Self::ALL
            .into_iter()
            .filter(|from| from.can_become(to))
            .collect()
    }

    pub fn check_transition(self, to: RunStatus) -> Result<(), IllegalTransition> {
        if self.can_become(to) {
            Ok(())
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status name that is not one of the seven.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "'{0}' is not a run status (use one of QUEUED, STARTING, STARTED, SUCCESS, FAILURE, CANCELING, CANCELED)"
)]
pub struct UnknownStatus(pub String);

impl FromStr for RunStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::RunStatus::{self, *};

    fn check(from: RunStatus, allowed: &[RunStatus]) {
        for to in RunStatus::ALL {
            assert_eq!(from.can_become(to), allowed.contains(&to), "{from} -> {to}");
        }
    }

    #[test]
    fn the_lifecycle_table() {
        check(Queued, &[Starting, Canceled, Failure]);
        check(Starting, &[Started, Failure, Canceling, Canceled]);
        check(Started, &[Success, Failure, Canceling]);
        check(Canceling, &[Canceled, Failure]);
        check(Success, &[]);
        check(Failure, &[]);
        check(Canceled, &[]);
    }

    #[test]
    fn terminal_statuses_have_no_successor_and_predecessors_agree() {
        for s in RunStatus::ALL {
            if s.is_terminal() {
                assert!(RunStatus::ALL.iter().all(|to| !s.can_become(*to)));
            }
        }
        assert_eq!(RunStatus::predecessors(Success), vec![Started]);
        assert_eq!(
            RunStatus::predecessors(Failure),
            vec![Queued, Starting, Started, Canceling]
        );
    }

    #[test]
    fn parses_names_case_insensitively() {
        assert_eq!("failure".parse::<RunStatus>(), Ok(Failure));
        assert!("DONE".parse::<RunStatus>().is_err());
        let err = Started.check_transition(Queued).unwrap_err();
        assert_eq!(err.to_string(), "a run cannot go from STARTED to QUEUED");
    }
}
