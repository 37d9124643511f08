//! Reloading the definitions of a long-running command (`orch daemon`, `orch web`, `orch dev`):
//! the compiled-in jobs stay, the job files and `orch.toml`'s schedules are read again, and
//! SIGHUP asks for it (as do `POST /api/v1/reload` and the UI's Reload definitions button,
//! through the same [`LiveDefinitions`]). A bad edit keeps the definitions in force.

use std::sync::Arc;

use async_trait::async_trait;
use orchestrator::definitions::{Definitions, LiveDefinitions, Loader, ScheduleDef};
use tokio_util::sync::CancellationToken;

use crate::app;
use crate::error::CliError;
use crate::settings::Settings;

/// The compiled-in jobs, with the job files and the schedules of `orch.toml` as they are now.
#[derive(Debug)]
struct FileLoader {
    settings: Settings,
    compiled: Definitions,
}

#[async_trait]
impl Loader for FileLoader {
    async fn load(&self) -> Result<(Definitions, Vec<ScheduleDef>), String> {
        let loaded = (|| {
            let config = app::orch_config(&self.settings)?;
            let definitions =
                crate::jobfiles::with_job_files(&self.settings, self.compiled.clone())?;
            let schedules = app::schedules(&config, &definitions)?;
            Ok::<_, CliError>((definitions, schedules))
        })();
        loaded.map_err(|e| format!("{:#}", e.error))
    }
}

/// The definitions the command starts with (an error stops it, exit 2), reloadable.
pub async fn live_definitions(settings: &Settings) -> Result<LiveDefinitions, CliError> {
    let compiled = app::compiled_definitions(settings).await?;
    let config = app::orch_config(settings)?;
    let definitions = crate::jobfiles::with_job_files(settings, compiled.clone())?;
    let schedules = app::schedules(&config, &definitions)?;
    let loader = FileLoader {
        settings: settings.clone(),
        compiled,
    };
    Ok(LiveDefinitions::new(
        Arc::new(definitions),
        schedules,
        Arc::new(loader),
    ))
}

/// Reloads `live` on every SIGHUP until `shutdown`, saying what happened on stderr.
pub async fn reload_on_sighup(live: LiveDefinitions, shutdown: CancellationToken) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP: reload through the API only");
            return;
        }
    };
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            got = hangups.recv() => if got.is_none() { return },
        }
        match live.reload().await {
            Ok(loaded) => eprintln!(
                "orch: SIGHUP: definitions reloaded (version {}, {} jobs, {} schedules)",
                loaded.version,
                loaded.definitions.jobs().len(),
                loaded.schedules.len()
            ),
            Err(failed) => eprintln!(
                "orch: SIGHUP: the definitions did not reload; version {} stays in force:\n{}",
                live.current().version,
                failed.error
            ),
        }
    }
}
