//! The domain model: runs, statuses, events and assets. Pure data and rules, no IO: nothing in
//! here knows about SQL, HTTP or processes.

mod asset;
mod event;
mod ids;
mod run;
mod status;

pub use asset::{AssetSummary, Materialization};
pub use event::{EventKind, EventRecord, LogLevel, Metadata, NewEvent};
pub use ids::{AssetKey, IdError, JobName, RunId, TagKey};
pub use run::{NewRun, Run, RunFilter, Tags};
pub use status::{IllegalTransition, RunStatus, UnknownStatus};
