//! Schemas the derives cannot see: closed sets of strings built from the domain's own lists (so
//! a new run status reaches the document by itself), the name rules of `orchestrator::domain`'s
//! typed ids as a pattern, and the open shapes (an event's payload, tags). Used through
//! `#[schema(schema_with = ...)]` on the DTOs and `#[param(...)]`/`params(...)` on handlers.

use orchestrator::domain::{AlertState, RunStatus};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};

/// What `JobName::parse`, `AssetKey::parse`, `TagKey::parse` and the other names of
/// `orchestrator::domain::ids` accept (`is_valid_name` there), as an ECMA-262 pattern.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_./-]{0,127}$";

fn strings(values: impl IntoIterator<Item = &'static str>) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
}

/// `schema`, or the empty string: a query filter that is absent or empty (`?status=`, as an
/// HTML form sends an unset field) is "not given" (`api::given`).
fn or_empty(schema: impl Into<Schema>) -> Schema {
    let empty = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(0));
    OneOfBuilder::new()
        .item(schema.into())
        .item(empty)
        .build()
        .into()
}

/// A run status filter: any case, empty for none.
pub fn run_status_filter() -> Schema {
    or_empty(strings(RunStatus::ALL.map(RunStatus::as_str)))
}

/// An alert state filter: empty for none.
pub fn alert_state_filter() -> Schema {
    or_empty(strings(AlertState::ALL.map(AlertState::as_str)))
}

/// A partition status filter (`orch partitions --status`): empty for none.
pub fn partition_status_filter() -> Schema {
    or_empty(strings([
        "materialized",
        "failed",
        "in_progress",
        "missing",
    ]))
}

/// A run id filter or cursor: empty for none.
pub fn run_id_filter() -> Schema {
    or_empty(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("uuid".to_owned()))),
    )
}

/// A name filter (`job=`): empty for none.
pub fn name_filter() -> Schema {
    or_empty(name())
}

/// A tag filter, `KEY=VALUE` with a tag key: empty for none.
pub fn tag_filter() -> Schema {
    let key = NAME_PATTERN.trim_end_matches('$');
    or_empty(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(format!("{key}=")))
            .description(Some("KEY=VALUE")),
    )
}

/// A run status (`RunStatus::ALL`).
pub fn run_status() -> Schema {
    strings(RunStatus::ALL.map(RunStatus::as_str))
        .build()
        .into()
}

/// Run statuses, as a sensor lists the ones it fires on.
pub fn run_statuses() -> Schema {
    ArrayBuilder::new()
        .items(strings(RunStatus::ALL.map(RunStatus::as_str)))
        .build()
        .into()
}

/// A delivery state of an alert (`AlertState::ALL`).
pub fn alert_state() -> Schema {
    strings(AlertState::ALL.map(AlertState::as_str))
        .build()
        .into()
}

/// A sensor tick's outcome.
pub fn sensor_tick_status() -> Schema {
    strings(["SUCCESS", "SKIPPED"]).build().into()
}

/// Whether a schedule's or sensor's on/off comes from a stored switch or its definition.
pub fn switch_state() -> Schema {
    strings(["switched", "default"]).build().into()
}

/// An asset's health.
pub fn health() -> Schema {
    strings(["healthy", "warning", "degraded", "unknown"])
        .build()
        .into()
}

/// A daemon replica's lease.
pub fn daemon_state() -> Schema {
    strings(["alive", "dead"]).build().into()
}

/// A name as the domain's typed ids accept it (a job, an asset key, a tag key, ...).
pub fn name() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(NAME_PATTERN))
        .build()
        .into()
}

/// Tags a client sends: keys are names (`TagKey`), values any string.
pub fn tags() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property_names(Some(name()))
        .additional_properties(Some(AdditionalProperties::from(
            ObjectBuilder::new().schema_type(Type::String),
        )))
        .build()
        .into()
}

/// The payload of a run event: its `type` and that type's fields (the event log's versioned
/// format, `orchestrator::domain::EventKind`), flattened into the event.
pub fn event_payload() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "type",
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some("e.g. RUN_START, STEP_SUCCESS, ASSET_MATERIALIZATION"))
                .build(),
        )
        .required("type")
        .build()
        .into()
}
