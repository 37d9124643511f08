//! The worker: executes one run's asset graph. It orders steps by dependency (independent steps
//! run concurrently), applies retry policies, turns errors and panics into step failures, records
//! every event through a batching writer, persists each step output through the IO manager, and
//! ends the run SUCCESS or FAILURE.
//!
//! The worker talks to storage only; it knows nothing of the daemon, HTTP or the CLI.

mod event_writer;
mod executor;
mod io_manager;
pub mod object_store;
mod step;

pub use event_writer::{EventObserver, EventWriter};
pub use executor::{RunOutcome, Worker, WorkerError};
pub use io_manager::IoManager;
