//! The fault proxy in front of DynamoDB Local (`make test` starts it and sets
//! DYNAMODB_ENDPOINT), seen by the client the functions use
//! (`shared::store::dynamo::client`) and by raw HTTP.

use std::net::SocketAddr;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use dynamo_faults::{CONTENT_TYPE, FAULT_HEADER, FaultProxy, Faults, Throttle};
use serde_json::{Value, json};
use shared::config::DynamoSettings;
use shared::store::dynamo::{DynamoMerchants, classify};
use shared::store::{MerchantDirectory, StoreError};

fn upstream() -> String {
    for (name, value) in [
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(name).is_none() {
            // SAFETY: every test sets the same constant values.
            unsafe { std::env::set_var(name, value) };
        }
    }
    std::env::var("DYNAMODB_ENDPOINT").expect(
        "DYNAMODB_ENDPOINT is not set: these tests need DynamoDB Local; run them with `make test`",
    )
}

async fn proxy() -> FaultProxy {
    FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], 0)), &upstream())
        .await
        .unwrap()
}

/// The functions' client, built exactly as they build it, pointed at `endpoint`.
async fn client(endpoint: String) -> Client {
    shared::store::dynamo::client(&DynamoSettings::for_tooling(endpoint)).await
}

/// A table keyed like the Merchants table, created directly in DynamoDB Local.
async fn table() -> String {
    let name = format!("faults-{}-{:08x}", std::process::id(), fastrand::u32(..));
    client(upstream())
        .await
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("account_id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("account_id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    name
}

fn faults(value: Value) -> Faults {
    serde_json::from_value(value).unwrap()
}

async fn put(client: &Client, table: &str, id: &str) -> Result<(), StoreError> {
    client
        .put_item()
        .table_name(table)
        .item("account_id", AttributeValue::S(id.into()))
        .send()
        .await
        .map(|_| ())
        .map_err(classify)
}

#[tokio::test]
async fn injected_answers_have_dynamodb_s_status_content_type_and_error_body() {
    let proxy = proxy().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let send = |target: &'static str| {
        http.post(proxy.url())
            .header("x-amz-target", target)
            .header("content-type", CONTENT_TYPE)
            .body("{}")
            .send()
    };
    for (setting, status, exception) in [
        (
            json!({"throttle_percent": 100, "operations": ["GetItem"]}),
            400,
            "ProvisionedThroughputExceededException",
        ),
        (
            json!({"throttle_percent": 100, "throttle_error": "ThrottlingException", "operations": ["GetItem"]}),
            400,
            "ThrottlingException",
        ),
        (
            json!({"error_percent": 100, "operations": ["GetItem"]}),
            500,
            "InternalServerError",
        ),
    ] {
        proxy.set(faults(setting)).unwrap();
        let answer = send("DynamoDB_20120810.GetItem").await.unwrap();
        assert_eq!(answer.status().as_u16(), status);
        assert_eq!(answer.headers()["content-type"], CONTENT_TYPE);
        assert!(answer.headers().contains_key("x-amzn-requestid"));
        let body: Value = answer.json().await.unwrap();
        assert_eq!(
            body["__type"],
            format!("com.amazonaws.dynamodb.v20120810#{exception}")
        );
        assert!(!body["message"].as_str().unwrap().is_empty());

        // Another operation goes through to DynamoDB Local, which answers it itself
        // (here: no signature).
        let other = send("DynamoDB_20120810.DescribeTable").await.unwrap();
        assert!(!other.headers().contains_key(FAULT_HEADER));
        let body: Value = other.json().await.unwrap();
        assert!(
            !body["__type"].as_str().unwrap_or("").ends_with(exception),
            "{body}"
        );
    }
    let stats = proxy.stats();
    assert_eq!(stats.operations["GetItem"].throttled, 2);
    assert_eq!(stats.operations["GetItem"].errors, 1);
    assert_eq!(stats.operations["DescribeTable"].forwarded, 3);
}

#[tokio::test]
async fn the_sdk_retries_a_throttle_and_a_500_and_classify_calls_them_transient() {
    let proxy = proxy().await;
    let table = table().await;
    let client = client(proxy.url()).await;

    // One fault, then plain forwarding: the SDK's retry gets the write through, which
    // it only does for errors it deems retryable.
    for setting in [
        json!({"throttle_percent": 100, "operations": ["PutItem"], "max_faults": 1}),
        json!({"throttle_percent": 100, "throttle_error": "ThrottlingException", "operations": ["PutItem"], "max_faults": 1}),
        json!({"error_percent": 100, "operations": ["PutItem"], "max_faults": 1}),
    ] {
        let before = proxy
            .stats()
            .operations
            .get("PutItem")
            .cloned()
            .unwrap_or_default();
        proxy.set(faults(setting.clone())).unwrap();
        put(&client, &table, "acct_retried").await.unwrap();
        let after = proxy.stats().operations["PutItem"].clone();
        assert_eq!(
            after.requests - before.requests,
            2,
            "{setting}: a fault, then the retry"
        );
        assert_eq!(
            (after.throttled + after.errors) - (before.throttled + before.errors),
            1
        );
        assert_eq!(after.forwarded - before.forwarded, 1);
    }

    // Faults that do not stop: the SDK gives up and the store calls the error transient.
    for (setting, code) in [
        (
            json!({"throttle_percent": 100, "operations": ["PutItem"]}),
            "ProvisionedThroughputExceededException",
        ),
        (
            json!({"throttle_percent": 100, "throttle_error": "ThrottlingException", "operations": ["PutItem"]}),
            "ThrottlingException",
        ),
        (
            json!({"error_percent": 100, "operations": ["PutItem"]}),
            "InternalServerError",
        ),
    ] {
        proxy.set(faults(setting)).unwrap();
        let before = proxy.stats().operations["PutItem"].requests;
        let error = client
            .put_item()
            .table_name(&table)
            .item("account_id", AttributeValue::S("acct_refused".into()))
            .send()
            .await
            .expect_err("every attempt is refused");
        assert_eq!(error.code(), Some(code));
        let attempts = proxy.stats().operations["PutItem"].requests - before;
        assert!(
            attempts >= 2,
            "{code}: the SDK retried ({attempts} attempts)"
        );
        match classify(error) {
            StoreError::Transient(text) => assert!(text.starts_with(code), "{text}"),
            other => panic!("{code} must be transient, got {other:?}"),
        }
    }

    // The store adapters the functions use see the same.
    proxy
        .set(faults(
            json!({"throttle_percent": 100, "operations": ["GetItem"]}),
        ))
        .unwrap();
    let merchants = DynamoMerchants::new(client.clone(), &table);
    assert!(matches!(
        merchants.merchant("acct_1Throttled").await,
        Err(StoreError::Transient(_))
    ));
    proxy.clear();
    assert_eq!(merchants.merchant("acct_1Throttled").await.unwrap(), None);
}

#[tokio::test]
async fn latency_is_added_to_the_named_operations_only() {
    let proxy = proxy().await;
    let table = table().await;
    let client = client(proxy.url()).await;
    proxy
        .set(faults(
            json!({"latency_ms": 150, "operations": ["GetItem"]}),
        ))
        .unwrap();
    client
        .get_item()
        .table_name(&table)
        .key("account_id", AttributeValue::S("acct_slow".into()))
        .send()
        .await
        .unwrap();
    client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    let stats = proxy.stats();
    let get = &stats.operations["GetItem"];
    assert_eq!(
        (get.delayed, get.delay_ms_total, get.forwarded),
        (1, 150, 1)
    );
    let describe = &stats.operations["DescribeTable"];
    assert_eq!((describe.delayed, describe.forwarded), (0, 1));
}

#[tokio::test]
async fn the_control_endpoint_sets_shows_and_clears_and_refuses_bad_settings() {
    let proxy = proxy().await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let set = http
        .post(proxy.control_url())
        .body(r#"{"throttle_percent":10,"error_percent":5,"latency_ms":200,"operations":["TransactWriteItems"]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let shown: Value = http
        .get(proxy.control_url())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["faults"]["throttle_percent"], 10.0);
    assert_eq!(shown["faults"]["operations"], json!(["TransactWriteItems"]));
    assert_eq!(proxy.faults().latency_ms, 200);

    for bad in [
        "not json",
        "[]",
        r#"{"throttle_percent": 500}"#,
        r#"{"throttle_percent": 70, "error_percent": 70}"#,
        r#"{"latency_ms": 99999999}"#,
        r#"{"operations": ["../../etc"]}"#,
        r#"{"surprise": true}"#,
    ] {
        let answer = http
            .post(proxy.control_url())
            .body(bad)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{bad}");
        let body: Value = answer.json().await.unwrap();
        assert!(body["error"].is_string(), "{bad}: {body}");
    }
    // A refused setting leaves the one in force.
    assert_eq!(proxy.faults().throttle_percent, 10.0);

    let cleared = http.delete(proxy.control_url()).send().await.unwrap();
    assert_eq!(cleared.status(), 200);
    assert_eq!(proxy.faults(), Faults::default());
    assert_eq!(
        faults(json!({"throttle_error": "ThrottlingException"})).throttle_error,
        Throttle::ThrottlingException
    );
}

/// The capacity the forwarded requests consumed, as DynamoDB Local computes it: a 2.5 KB
/// item costs 3 write units to put, 1 read unit to read strongly, half eventually.
#[tokio::test]
async fn the_capacity_dynamodb_reports_is_summed_by_kind_and_operation() {
    let proxy = proxy().await;
    let table = table().await;
    let client = client(proxy.url()).await;
    client
        .put_item()
        .table_name(&table)
        .item("account_id", AttributeValue::S("acct_1Meter".into()))
        .item("blob", AttributeValue::S("x".repeat(2_500)))
        .send()
        .await
        .unwrap();
    for consistent in [true, false] {
        let read = client
            .get_item()
            .table_name(&table)
            .key("account_id", AttributeValue::S("acct_1Meter".into()))
            .consistent_read(consistent)
            .send()
            .await
            .unwrap();
        assert!(read.item().is_some(), "the answer still carries the item");
    }
    let stats = proxy.stats();
    assert_eq!(stats.write_milli_units, 3_000);
    assert_eq!(stats.read_milli_units, 1_500);
    assert_eq!(stats.operations["PutItem"].capacity_milli_units, 3_000);
    assert_eq!(stats.operations["GetItem"].capacity_milli_units, 1_500);
}
