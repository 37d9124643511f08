//! The extension points of orch's command line: what a crate adds to orch when it builds its
//! own binary on the `orch` library (`orch::Orch::new(extension).main()`), and what the seed
//! pipelines (package `pipelines`) add to the stock `orch` binary the same way.
//!
//! An [`Extension`] contributes
//! - the job definitions ([`Extension::definitions`]), built from its settings and orch's
//!   object stores ([`Context`]);
//! - settings of its own (`Extension::Settings`, a `clap::Args`: flags with environment
//!   variables, flattened into orch's global settings);
//! - subcommands of its own (`Extension::Command`, a `clap::Subcommand`, beside `run`, `web`,
//!   …), executed by [`Extension::run_command`];
//! - JSON API routes (`Extension::api_routes`), served under `/api/v1` by `orch web` and
//!   `orch dev` behind the same layers and authentication as orch's own API, and documented in
//!   its OpenAPI document (`/api/v1/openapi.json`, `orch openapi`).
//!
//! This crate sits below both the `orch` library and the seed pipelines, so the stock binary
//! can be `orch` + `pipelines` without a dependency cycle; users reach it as `orch::extension`.

mod context;
mod error;
mod none;
#[cfg(test)]
mod tidy;

use std::fmt::Debug;
use std::future::Future;
use std::process::ExitCode;

use orchestrator::definitions::Definitions;

pub use context::{Context, ObjectStores, S3Connection};
pub use error::ExtensionError;
pub use none::{NoCommand, NoSettings};

/// An extension's API routes with their OpenAPI documentation (see [`Extension::api_routes`]).
pub type ApiRoutes = utoipa_axum::router::OpenApiRouter;

/// What a crate adds to orch. Every method gets the extension's own settings, parsed from the
/// command line and the environment, through [`Context::settings`].
pub trait Extension: Send + Sync + 'static {
    /// Settings of the extension: a `clap::Args` whose fields are usually `global = true`
    /// flags with an `env` name, so they can be given to every subcommand. [`NoSettings`] when
    /// there are none.
    type Settings: clap::Args + Clone + Debug + Send + Sync + 'static;

    /// Subcommands of the extension, beside orch's own (their names must differ from orch's).
    /// [`NoCommand`] when there are none.
    type Command: clap::Subcommand + Debug + Send + Sync + 'static;

    /// Every job, schedule and sensor of this build, validated. Called once per process by
    /// every command that needs them (`run`, `launch`, `daemon`, `web`, `worker`, …).
    fn definitions(
        &self,
        cx: &Context<'_, Self::Settings>,
    ) -> impl Future<Output = Result<Definitions, ExtensionError>> + Send;

    /// Routes served under `/api/v1` beside orch's own (paths relative to it, e.g.
    /// `/products`), inside the same layers (request ids, timeout, body limit) and behind the
    /// same bearer-token check, with their documentation: give each handler a
    /// `#[utoipa::path(...)]` (method, path, parameters, every status it answers, response
    /// schemas) and register it with `utoipa_axum::routes!` on an [`ApiRoutes`]
    /// (`OpenApiRouter::default().routes(routes!(list)).with_state(state)`), and it is in orch's
    /// OpenAPI document too. The layers' own answers (401, 403, 408, 429) are added for you. A route
    /// that collides with orch's panics at start. None by default.
    fn api_routes(
        &self,
        cx: &Context<'_, Self::Settings>,
    ) -> impl Future<Output = Result<ApiRoutes, ExtensionError>> + Send {
        let _ = cx;
        async { Ok(ApiRoutes::default()) }
    }

    /// Runs one of the extension's subcommands; its exit code is the process's. The default
    /// refuses, which is right only for an extension whose `Command` is [`NoCommand`].
    fn run_command(
        &self,
        command: &Self::Command,
        cx: &Context<'_, Self::Settings>,
    ) -> impl Future<Output = Result<ExitCode, ExtensionError>> + Send {
        let _ = (command, cx);
        async {
            Err(ExtensionError::usage(
                "this build has no commands of its own",
            ))
        }
    }
}
