//! The binary's outcome: an exit code and a message. 0 is success, 1 a failed run or operation,
//! 2 a usage or configuration error.

use std::fmt;
use std::process::ExitCode;

/// An error that ends the command, with its exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub error: anyhow::Error,
}

impl CliError {
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;

    /// Bad input or configuration (exit code 2).
    pub fn config(message: impl fmt::Display) -> Self {
        Self {
            code: Self::USAGE,
            error: anyhow::anyhow!("{message}"),
        }
    }

    /// A failure of the operation itself (exit code 1).
    pub fn failure(message: impl fmt::Display) -> Self {
        Self {
            code: Self::FAILURE,
            error: anyhow::anyhow!("{message}"),
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl From<orchestrator::storage::StorageError> for CliError {
    fn from(e: orchestrator::storage::StorageError) -> Self {
        match e {
            orchestrator::storage::StorageError::RunNotFound(_) => Self::config(e),
            other => Self::failure(other),
        }
    }
}

impl From<orchestrator::partition_status::StatusError> for CliError {
    fn from(e: orchestrator::partition_status::StatusError) -> Self {
        match e {
            orchestrator::partition_status::StatusError::Storage(e) => e.into(),
            refused => Self::config(refused),
        }
    }
}

impl From<worker::WorkerError> for CliError {
    fn from(e: worker::WorkerError) -> Self {
        match e {
            worker::WorkerError::NotStarting { .. } => Self::config(e),
            worker::WorkerError::Storage(e) => e.into(),
        }
    }
}

/// An extension's hook failed: its message, with the exit code it asked for.
impl From<orch_extension::ExtensionError> for CliError {
    fn from(e: orch_extension::ExtensionError) -> Self {
        Self {
            code: e.exit_code(),
            error: anyhow::anyhow!("{}", e.message()),
        }
    }
}
