//! The worker: executes one run's asset graph. It orders steps by dependency (independent steps
//! run concurrently), applies retry policies, turns errors and panics into step failures, records
//! every event through a batching writer, persists each step output through the IO manager, and
//! ends the run SUCCESS or FAILURE.
//!
//! A run can be stopped from outside through a [`Cancellation`] (the [`Heartbeat`] cancels it
//! when it finds the run CANCELING): the steps in flight are stopped and record `STEP_CANCELED`,
//! and the run ends CANCELED.
//!
//! An asset is Rust code in this process or an external command (`command`): a child process
//! in a group of its own that speaks Dagster Pipes or orch's plain environment protocol.
//!
//! The worker talks to storage only; it knows nothing of the daemon, HTTP or the CLI.

mod cancel;
mod checks;
mod command;
mod ending;
mod event_writer;
mod executor;
mod heartbeat;
mod io_manager;
pub mod object_store;
mod step;

pub use cancel::Cancellation;
pub use event_writer::{DEFAULT_BUFFER as DEFAULT_EVENT_BUFFER, EventObserver, EventWriter};
pub use executor::{DEFAULT_COMMAND_GRACE, ExecuteOptions, RunOutcome, Worker, WorkerError};
pub use heartbeat::{Heartbeat, MIN_INTERVAL};
pub use io_manager::IoManager;
