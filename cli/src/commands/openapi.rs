//! `orch openapi`: prints the OpenAPI 3.1 document of this build's JSON API — orch's routes and
//! the extension's — as `/api/v1/openapi.json` serves it, without a server or a store. The
//! committed `docs/openapi.json` is the stock binary's (`cli/tests/e2e/openapi.rs` checks it).

use std::process::ExitCode;

use crate::app;
use crate::error::CliError;
use crate::settings::Settings;

pub async fn print(settings: &Settings) -> Result<ExitCode, CliError> {
    let extension = app::api_routes(settings).await?;
    let document = web::openapi_document(extension);
    let json = document
        .to_pretty_json()
        .map_err(|e| CliError::failure(format!("the OpenAPI document does not serialize: {e}")))?;
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}
