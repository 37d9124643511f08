//! [`ExtensionError`]: how an extension's hook fails, with the exit code it asks for.

use std::fmt;

use orchestrator::definitions::DefinitionError;

/// A failed hook of an extension: its message, printed as `error: <message>`, and whether it
/// is a usage or configuration error (exit code 2) or a failure of the operation (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ExtensionError {
    kind: Kind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Usage,
    Failure,
}

impl ExtensionError {
    /// Bad input or configuration: exit code 2.
    pub fn usage(message: impl fmt::Display) -> Self {
        Self {
            kind: Kind::Usage,
            message: message.to_string(),
        }
    }

    /// A failure of the operation itself: exit code 1.
    pub fn failure(message: impl fmt::Display) -> Self {
        Self {
            kind: Kind::Failure,
            message: message.to_string(),
        }
    }

    /// The process exit code this error asks for: 2 for usage, 1 for a failure.
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Usage => 2,
            Kind::Failure => 1,
        }
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Definitions that do not validate are a configuration error of the build.
impl From<DefinitionError> for ExtensionError {
    fn from(e: DefinitionError) -> Self {
        Self::usage(e)
    }
}
