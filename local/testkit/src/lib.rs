//! Test support shared by the integration tests of every crate. Each test gets its own
//! tables (unique names) so tests run in parallel against one DynamoDB Local.

pub mod gateway;

use std::path::PathBuf;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use aws_sdk_dynamodb::Client;
use serde_json::Value;
use shared::config::DynamoSettings;
use shared::store::schema::{self, TableSpec};

/// The repository root (tests read `events/` fixtures from there).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// DynamoDB Local, started by `make test` (see local/scripts/test.sh).
pub async fn dynamo() -> Client {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap_or_else(|_| {
        panic!("DYNAMODB_ENDPOINT is not set: integration tests need DynamoDB Local; run them with `make test`")
    });
    // DynamoDB Local accepts any credentials; set them so no real profile is ever used.
    for (name, value) in [
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(name).is_none() {
            // SAFETY: every test that calls this sets the same constant values.
            unsafe { std::env::set_var(name, value) };
        }
    }
    shared::store::dynamo::client(&DynamoSettings {
        endpoint: Some(endpoint),
    })
    .await
}

pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

/// Creates a fresh table shaped like `spec` and returns its name.
pub async fn fresh_table(client: &Client, spec: &TableSpec) -> String {
    let name = unique_name(spec.logical_id);
    schema::create_table(client, spec, &name)
        .await
        .expect("create table in DynamoDB Local");
    name
}

/// Reads a committed fixture, e.g. `webhooks/checkout_session_completed.json`.
pub fn fixture(relative: &str) -> Value {
    let path = repo_root().join("events").join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} is not JSON: {e}"))
}

/// A fixture re-signed now with `secret`, as the Lambda runtime would hand it over.
pub fn signed_request(fixture_json: &Value, secret: &str) -> ApiGatewayV2httpRequest {
    let mut request = fixture_json.clone();
    shared::fixtures::resign(&mut request, &[secret], now_seconds()).expect("fixture re-signs");
    serde_json::from_value(request).expect("fixture is an API Gateway v2 request")
}

pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The event inside a fixture's body.
pub fn fixture_event(fixture_json: &Value) -> Value {
    let body = shared::fixtures::body_bytes(fixture_json).expect("fixture body");
    serde_json::from_slice(&body).expect("fixture body is JSON")
}
