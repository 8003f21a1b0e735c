//! Test support shared by the integration tests of every crate. Each test gets its own
//! tables (unique names) so tests run in parallel against one DynamoDB Local.

pub mod gateway;

use std::path::PathBuf;

use aws_sdk_dynamodb::Client;
use sam_template::{StackContext, Template};
use serde_json::Value;
use shared::config::DynamoSettings;
use shared::merchants::{
    ApprovalRules, CheckoutSettings, FeePlan, ManualTaxRate, ShippingRule, ShippingService,
};

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
    shared::store::dynamo::client(&DynamoSettings::for_tooling(endpoint)).await
}

pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

/// The template's logical ids of the tables tests create.
pub const ORDERS: &str = "OrdersTable";
pub const IDEMPOTENCY: &str = "IdempotencyTable";
pub const MERCHANTS: &str = "MerchantsTable";
pub const CATALOG: &str = "CatalogTable";
pub const AGREEMENTS: &str = "AgreementsTable";
pub const DEAD_LETTERS: &str = "DeadLettersTable";

/// `template.yaml`, read once per test process (see [`sam_template::load`]).
fn template() -> &'static Template {
    static TEMPLATE: std::sync::OnceLock<Template> = std::sync::OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let doc = sam_template::load(&repo_root())
            .unwrap_or_else(|e| panic!("tests create their tables from template.yaml: {e}"));
        Template::new(
            doc,
            StackContext {
                stack_name: "test".into(),
                account_id: "000000000000".into(),
                region: "us-east-1".into(),
                parameters: Default::default(),
            },
        )
    })
}

/// Creates a fresh table exactly as `template.yaml` declares `logical_id` (keys, indexes,
/// stream, TTL), under a unique name, and returns that name.
pub async fn fresh_table(client: &Client, logical_id: &str) -> String {
    let mut table = template()
        .tables()
        .unwrap_or_else(|e| panic!("template.yaml: {e}"))
        .into_iter()
        .find(|t| t.logical_id == logical_id)
        .unwrap_or_else(|| panic!("template.yaml declares no table {logical_id}"));
    table.name = unique_name(logical_id);
    sam_template::create_table(client, &table)
        .await
        .unwrap_or_else(|e| panic!("create table in DynamoDB Local: {e}"));
    table.name
}

/// Reads a committed fixture, e.g. `webhooks/checkout_session_completed.json`.
pub fn fixture(relative: &str) -> Value {
    let path = repo_root().join("events").join(relative);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} is not JSON: {e}"))
}

/// A fixture's event re-signed now with `secret` (still JSON: a test may alter it).
pub fn signed_event(fixture_json: &Value, secret: &str) -> Value {
    let mut event = fixture_json.clone();
    sample_events::fixtures::resign(&mut event, &[secret], now_seconds())
        .expect("fixture re-signs");
    event
}

/// A fixture re-signed now with `secret`, as `lambda_http` hands it to a handler.
pub fn signed_request(fixture_json: &Value, secret: &str) -> lambda_http::Request {
    lambda_request(&signed_event(fixture_json, secret))
}

/// The `http::Request` `lambda_http` makes of an event AWS sends (API Gateway payload 2.0
/// or 1.0, a Function URL, an ALB): the same conversion the deployed function runs.
pub fn lambda_request(event: &impl serde::Serialize) -> lambda_http::Request {
    let text = serde_json::to_string(event).expect("the event serialises");
    lambda_http::request::from_str(&text).expect("lambda_http accepts the event")
}

/// A signed POST of `body` to `path`, as API Gateway's HTTP API hands it over.
pub fn signed_post(path: &str, body: &[u8], secret: &str) -> lambda_http::Request {
    let signature = shared::signature::sign_header(body, &[secret], now_seconds());
    lambda_request(&sample_events::aws::http_api_request(
        "POST",
        path,
        "",
        &[
            ("content-type".into(), "application/json".into()),
            ("stripe-signature".into(), signature),
        ],
        body,
    ))
}

/// A handler's answer: its status and its body parsed as JSON.
pub fn answer(response: &http::Response<String>) -> (u16, Value) {
    let body = serde_json::from_str(response.body()).unwrap_or(Value::Null);
    (response.status().as_u16(), body)
}

pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The event inside a fixture's body.
pub fn fixture_event(fixture_json: &Value) -> Value {
    let body = sample_events::fixtures::body_bytes(fixture_json).expect("fixture body");
    serde_json::from_slice(&body).expect("fixture body is JSON")
}

/// The S3 emulator (moto), started by `make test`.
pub async fn s3() -> aws_sdk_s3::Client {
    let endpoint = std::env::var("S3_ENDPOINT")
        .unwrap_or_else(|_| panic!("S3_ENDPOINT is not set: integration tests need the S3 emulator; run them with `make test`"));
    dynamo().await; // sets the local credentials
    shared::bucket::S3Objects::client(Some(&endpoint)).await
}

/// A fresh versioned bucket, as the template declares it.
pub async fn fresh_bucket(client: &aws_sdk_s3::Client) -> String {
    let name = unique_name("catalog").to_ascii_lowercase();
    client
        .create_bucket()
        .bucket(&name)
        .send()
        .await
        .expect("create bucket in the S3 emulator");
    client
        .put_bucket_versioning()
        .bucket(&name)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("enable versioning");
    name
}

/// Puts an object and returns the S3 event AWS would send for it
/// ([`sample_events::aws::s3_object_created`]).
pub async fn put_and_event(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: &[u8],
) -> serde_json::Value {
    let output = client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body.to_vec()))
        .send()
        .await
        .expect("put object");
    sample_events::aws::s3_object_created(
        &sample_events::aws::CreatedObject {
            bucket,
            key,
            size: body.len() as i64,
            e_tag: output.e_tag().unwrap_or_default(),
            version_id: output.version_id(),
        },
        "us-east-1",
        "IncomingFile",
    )
}

pub async fn read_object(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let output = client
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .ok()?;
    Some(output.body.collect().await.ok()?.into_bytes().to_vec())
}

/// A merchant's checkout settings as the hook tests and benchmarks use them: US shipping
/// (Ground 7.00, Express 19.00, free from 500.00), 8.25% California tax, a 2.5% + 0.30
/// fee, US and Canada only, at most 1000.00, no prepaid cards.
pub fn demo_checkout_settings() -> CheckoutSettings {
    CheckoutSettings {
        shipping_rules: vec![ShippingRule {
            country: "US".into(),
            regions: vec![],
            services: vec![
                ShippingService {
                    name: "Ground".into(),
                    amount: 700,
                    currency: "usd".into(),
                    min_days: Some(3),
                    max_days: Some(5),
                },
                ShippingService {
                    name: "Express".into(),
                    amount: 1900,
                    currency: "usd".into(),
                    min_days: Some(1),
                    max_days: Some(2),
                },
            ],
            free_shipping_threshold: Some(50_000),
            basis: Default::default(),
        }],
        tax_rates: vec![ManualTaxRate {
            country: "US".into(),
            state: Some("CA".into()),
            percentage: "8.25".into(),
            inclusive: false,
            display_name: "CA sales tax".into(),
        }],
        fee_plan: Some(FeePlan {
            basis_points: 250,
            fixed: 30,
            minimum: 0,
            maximum: None,
        }),
        approval: ApprovalRules {
            allowed_countries: vec!["US".into(), "CA".into()],
            max_order_amount: Some(100_000),
            refuse_prepaid_cards: true,
        },
        ..Default::default()
    }
}
