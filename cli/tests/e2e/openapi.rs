//! The OpenAPI document of the stock `orch` (orch's routes and the seeds' `/products`): the copy
//! committed as `docs/openapi.json` is what `orch openapi` prints, so clients generated from the
//! repository match the binary. After changing the API, regenerate it with
//! `cargo run -q -p orch -- openapi > docs/openapi.json`.

use std::path::Path;

use serde_json::Value;

use crate::support::{Orch, init};

/// `docs/openapi.json`, parsed.
pub fn committed_document() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
    serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

#[tokio::test]
async fn the_committed_document_is_the_generated_one() {
    init();
    let generated = Orch::local().run(&["openapi"]).await.assert_exit(0).json();
    let committed = committed_document();
    assert_eq!(generated["openapi"], "3.1.0");
    assert!(generated["paths"]["/api/v1/products"]["get"].is_object());
    assert!(
        committed == generated,
        "docs/openapi.json is not what this build generates; regenerate it with \
         `cargo run -q -p orch -- openapi > docs/openapi.json` and commit it"
    );
}
