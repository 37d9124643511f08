//! `orch migrate`: applies the embedded migrations to the configured store.

use std::process::ExitCode;

use crate::app;
use crate::error::CliError;
use crate::settings::{Settings, redact_url};

pub async fn migrate(settings: &Settings) -> Result<ExitCode, CliError> {
    app::open_store(settings).await?;
    println!(
        "migrations applied to {}",
        redact_url(&settings.database_url())
    );
    Ok(ExitCode::SUCCESS)
}
