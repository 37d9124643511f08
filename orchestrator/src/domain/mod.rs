//! The domain model: runs, statuses, events, assets and schedule ticks. Pure data and rules, no
//! IO: nothing in here knows about SQL, HTTP or processes.

mod asset;
mod backfill;
mod check;
mod daemon;
mod event;
mod freshness;
mod health;
mod ids;
mod partition;
mod queue;
mod run;
mod schedule;
mod sensor;
mod status;

pub use asset::{AssetSummary, Materialization};
pub use backfill::{
    BACKFILL_TAG, Backfill, BackfillChunk, BackfillCounts, BackfillId, BackfillIdError,
    BackfillMode, BackfillStatus, NewBackfill, UnknownBackfillMode, UnknownBackfillStatus,
};
pub use check::{CheckResult, CheckSeverity};
pub use daemon::{DaemonId, DaemonInfo};
pub use event::{EventKind, EventRecord, LogLevel, Metadata, NewEvent};
pub use freshness::{AssetFreshness, FreshnessChange, FreshnessState, UnknownFreshnessState};
pub use health::{AssetHealth, Health, HealthInputs, LatestCheck, health_of};
pub use ids::{AssetKey, IdError, JobName, RunId, ScheduleName, SensorName, TagKey};
pub use partition::{
    PartitionRange, PartitionScope, PartitionStatus, PartitionStatusRow, PartitionTargets,
    TimeWindow, UnknownPartitionStatus,
};
pub use queue::{InProgress, QueueLimits, TagLimit};
pub use run::{
    NewRun, PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, PARTITION_TAG, Run, RunFilter,
    StoredDefinition, Tags, launched_by,
};
pub use schedule::{
    SCHEDULE_TAG, ScheduleState, ScheduleSwitch, ScheduleTick, TICK_TAG, TickStatus,
    UnknownTickStatus, tick_tag_value,
};
pub use sensor::{
    Alert, AlertState, AlertSubject, DeliveryOutcome, FailedCheck, FreshnessAlertChange,
    NewSensorTick, SensorEvaluation, SensorState, SensorSwitch, SensorTick, SensorTickStatus,
    StatusChange, UnknownAlertState,
};
pub use status::{IllegalTransition, RunStatus, UnknownStatus};
