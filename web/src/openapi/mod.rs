//! The OpenAPI 3.1 document of the JSON API, served at `/api/v1/openapi.json` and committed as
//! `docs/openapi.json`.
//!
//! It cannot drift from the code: each handler carries its own `#[utoipa::path(...)]` (method,
//! path, parameters, body, every status the handler answers) and is registered with
//! `utoipa_axum::routes!`, which adds the route to the router and its operation to the document
//! in one call (`api::router`). Request and response schemas are derived (`ToSchema`,
//! `IntoParams`) from the very types the handlers deserialize and serialize. An extension's
//! routes come in the same way (`orch_extension::Extension::api_routes` returns an
//! `OpenApiRouter`). What no handler sees is added here, once, for every operation
//! ([`document`]): the answers of the layers in front of them (`auth.rs`: 401 and 429;
//! `origin.rs`: 403 on mutations; `layers.rs`: 408) and the bearer-token security scheme.
//!
//! `web/tests/api/openapi.rs` fails when a route of the router is missing from the document or
//! the other way round.

pub mod schemas;

use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Components, Content, Header, OpenApi as Document, Ref, RefOr};

use crate::error::ErrorJson;

/// Where the API is served; the document's paths start with it.
pub const API_PREFIX: &str = "/api/v1";
/// The document's own path under [`API_PREFIX`].
pub const DOCUMENT_PATH: &str = "/openapi.json";
/// The name of the bearer-token security scheme.
const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "orch",
        description = "The JSON API of orch, a data-pipeline orchestrator: runs, jobs, assets, \
            schedules, sensors and alerts, daemons, and the definitions in force. Errors are \
            `{\"error\": \"...\", \"status\": N}`. When the server has a token (`ORCH_AUTH_TOKEN`), \
            mutations need `Authorization: Bearer <token>`, and reads do too under \
            `ORCH_AUTH_READS=true`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(ErrorJson)),
    tags(
        (name = "runs", description = "Runs: list, inspect, follow events, cancel, re-execute."),
        (name = "jobs", description = "The jobs this build defines, and Launch Run."),
        (name = "assets", description = "The asset catalog, materialization history and health."),
        (name = "schedules", description = "Cron schedules and their on/off switch."),
        (name = "sensors", description = "Run-status sensors, their ticks, and the alert outbox."),
        (name = "backfills", description = "Backfills: a partitioned job run over many partitions by the daemon."),
        (name = "instance", description = "Daemons, the definitions in force, this document."),
    )
)]
struct ApiDoc;

/// The whole document: the routes of `api` (paths relative to `/api/v1`, as registered) under
/// [`API_PREFIX`], with the layers' answers and the security scheme added to every operation.
pub fn document(api: Document) -> Document {
    let mut doc = ApiDoc::openapi().nest(API_PREFIX, api);
    rename_wildcards(&mut doc);
    add_components(doc.components.get_or_insert_with(Components::default));
    for item in doc.paths.paths.values_mut() {
        for (mutation, operation) in operations_mut(item) {
            add_layer_answers(operation, mutation);
        }
    }
    doc
}

/// axum's catch-all segment `{*key}` is OpenAPI's plain `{key}` (a client percent-encodes the
/// slashes of the value; axum decodes them).
fn rename_wildcards(doc: &mut Document) {
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(path, item)| (path.replace("{*", "{"), item))
        .collect();
}

/// Every operation of a path item, with whether it is a mutation (anything but GET).
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = (bool, &mut Operation)> {
    [
        (false, item.get.as_mut()),
        (true, item.post.as_mut()),
        (true, item.put.as_mut()),
        (true, item.patch.as_mut()),
        (true, item.delete.as_mut()),
    ]
    .into_iter()
    .filter_map(|(mutation, op)| op.map(|op| (mutation, op)))
}

fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name("ErrorJson"))),
    )
}

/// The layers' answers, as reusable responses, and the security scheme.
fn add_components(components: &mut Components) {
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "ORCH_AUTH_TOKEN: needed by mutations when the server has a token, and by \
                     reads too under ORCH_AUTH_READS=true",
                ))
                .build(),
        ),
    );
    let layer_responses: [(&str, Response); 4] = [
        (
            "Unauthorized",
            error_response(
                "No bearer token, or not the server's (mutations when the server has a token; \
                 reads too under ORCH_AUTH_READS=true)",
            )
            .header("WWW-Authenticate", Header::default())
            .build(),
        ),
        (
            "CrossSite",
            error_response(
                "Refused a cross-site request: Sec-Fetch-Site is cross-site, or Origin is \
                 neither this server nor one of ORCH_ALLOWED_ORIGINS; nothing changed",
            )
            .build(),
        ),
        (
            "TooManyRequests",
            error_response("Too many wrong tokens from this address or overall; retry after Retry-After seconds")
                .header("Retry-After", Header::default())
                .build(),
        ),
        (
            "Timeout",
            ResponseBuilder::new()
                .description("The request took longer than the server's timeout (30 s); no body")
                .build(),
        ),
    ];
    for (name, response) in layer_responses {
        components
            .responses
            .insert(name.to_owned(), RefOr::T(response));
    }
}

/// What the layers in front of every handler may answer instead of it, and who may call it.
fn add_layer_answers(operation: &mut Operation, mutation: bool) {
    let mut answers = vec![
        ("401", "Unauthorized"),
        ("408", "Timeout"),
        ("429", "TooManyRequests"),
    ];
    if mutation {
        answers.push(("403", "CrossSite"));
    }
    for (status, name) in answers {
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
    let bearer = SecurityRequirement::new(BEARER, Vec::<String>::new());
    // Reads are open unless ORCH_AUTH_READS; `{}` says "no credentials" is also accepted.
    operation.security = Some(if mutation {
        vec![bearer]
    } else {
        vec![SecurityRequirement::default(), bearer]
    });
}
