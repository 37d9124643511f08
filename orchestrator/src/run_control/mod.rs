//! What a user does to a run besides launching it: cancel it, re-execute it. The CLI offers
//! these today and the web UI will; both call here so the rules live in one place. The decisions
//! are pure functions with unit tests; the async wrappers read and write through `RunStorage`.

pub mod cancel;
pub mod partition;
pub mod reexecute;
pub mod select;

pub use cancel::{CancelAction, CancelError, CancelOutcome, cancel_run};
pub use partition::{PartitionError, PartitionRequest, check_partition_request, run_scope};
pub use reexecute::{
    PARENT_RUN_TAG, ROOT_RUN_TAG, ReexecuteError, ReexecuteFrom, Reexecution, plan_reexecution,
    reexecute, steps_that_did_not_succeed,
};
pub use select::{CHECKS_ONLY_TAG, SelectError, check_selection, plan_selection, upstream_outside};
