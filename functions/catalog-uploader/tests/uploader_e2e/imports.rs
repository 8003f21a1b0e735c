//! Imports through both API generations to the end: success, Stripe's error file (and its expiry), v2 events.

use super::*;

#[tokio::test]
async fn v1_valid_file_reaches_succeeded() {
    valid_file_reaches_succeeded(ApiGeneration::V1).await;
}

#[tokio::test]
async fn v2_valid_file_reaches_succeeded() {
    valid_file_reaches_succeeded(ApiGeneration::V2).await;
}

#[tokio::test]
async fn v1_bad_rows_come_back_in_stripes_error_file() {
    bad_rows_come_back_in_stripes_error_file(ApiGeneration::V1).await;
}

#[tokio::test]
async fn v2_bad_rows_come_back_in_stripes_error_file() {
    bad_rows_come_back_in_stripes_error_file(ApiGeneration::V2).await;
}

/// Stripe's v2 error-file URL lives five minutes: one that expired before we fetched it is
/// refreshed by reading the import again.
#[tokio::test]
async fn v2_expired_error_file_url_is_refreshed() {
    let stack = Stack::start(ApiGeneration::V2, ValidationMode::Lenient).await;
    let response = stack
        .http
        .post(format!("{}/_sim/error_file_urls", stack.sim.base_url()))
        .json(&serde_json::json!({"expired_next": 1}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let rows = vec![
        row("SKU-1", "Mug", "1.00 USD", 1),
        row("SKU-2", "Bowl", "bad price", 1),
    ];
    stack
        .drop_file(&format!("incoming/{ACCOUNT}/catalog/late.csv"), &csv(&rows))
        .await;
    stack.tick().await;
    assert_eq!(
        stack.status("late.csv").await["status"],
        "succeeded_with_errors"
    );
    let errors = String::from_utf8(
        stack
            .report("late.csv", "stripe-errors.csv")
            .await
            .expect("report copied"),
    )
    .unwrap();
    assert!(errors.contains("SKU-2"), "{errors}");
}

/// A v2 import's thin events reach the webhooks function's `/stripe/events`, which
/// finishes the import at once: no schedule tick is needed.
#[tokio::test]
async fn v2_import_events_finish_the_import_without_waiting_for_the_schedule() {
    let stack = Stack::start(ApiGeneration::V2, ValidationMode::Lenient).await;
    let agreements = testkit::fresh_table(&stack.dynamo, testkit::AGREEMENTS).await;
    let orders = testkit::fresh_table(&stack.dynamo, testkit::ORDERS).await;
    let env = Env::from_map([
        ("STRIPE_SECRET_KEY", KEY.to_string()),
        ("STRIPE_API_BASE", stack.sim.base_url()),
        ("STRIPE_FILES_BASE", stack.sim.base_url()),
        ("STRIPE_WEBHOOK_SECRETS", "whsec_unused".to_string()),
        (
            "STRIPE_THIN_EVENT_SECRETS",
            "whsec_test_thin_sim".to_string(),
        ),
        ("ORDERS_TABLE", orders),
        ("AGREEMENTS_TABLE", agreements),
        ("IDEMPOTENCY_TABLE", stack.idempotency_table.clone()),
        ("CATALOG_BUCKET", stack.bucket.clone()),
        ("MERCHANTS_TABLE", stack.merchants_table.clone()),
        ("CATALOG_TABLE", stack.catalog_table.clone()),
        ("FEED_UPLOAD_INTERVAL_SECONDS", "0".to_string()),
        (
            "DYNAMODB_ENDPOINT",
            std::env::var("DYNAMODB_ENDPOINT").unwrap(),
        ),
        ("S3_ENDPOINT", std::env::var("S3_ENDPOINT").unwrap()),
    ]);
    let webhooks_function = Arc::new(webhooks::init(env).await.unwrap());
    let f = webhooks_function.clone();
    let gateway = testkit::gateway::serve(move |request| {
        let f = f.clone();
        async move { webhooks::handle(&f, &request).await }
    })
    .await;
    let response = stack
        .http
        .post(format!("{}/_sim/thin_event_endpoint", stack.sim.base_url()))
        .json(&serde_json::json!({"url": gateway.url("/stripe/events"), "secret": "whsec_test_thin_sim"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());

    stack
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/evented.csv"),
            &csv(&[row("SKU-1", "Mug", "1.00 USD", 1)]),
        )
        .await;
    // Bounded wait for the emulator's asynchronous delivery; no schedule tick is sent.
    let mut status = Value::Null;
    for _ in 0..100 {
        status = stack.status("evented.csv").await;
        if status["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status["status"], "succeeded", "{status}");
    assert!(
        stack
            .catalog()
            .sku(ACCOUNT, "SKU-1")
            .await
            .unwrap()
            .is_some(),
        "snapshots written by the event path"
    );
}

/// A v1 import set Stripe finishes later: its `data_management.import_set.succeeded`
/// webhook finishes the import at once, before any schedule tick polls it.
#[tokio::test]
async fn v1_import_set_events_finish_the_import_without_waiting_for_the_schedule() {
    let stack = Stack::start_with(
        ApiGeneration::V1,
        ValidationMode::Lenient,
        SimConfig {
            // Never on its own: only the control call below finishes it.
            processing_delay_ms: 100 * 86_400_000,
            webhook_secret: "whsec_test_import_sets".into(),
            ..SimConfig::default()
        },
    )
    .await;
    let orders = testkit::fresh_table(&stack.dynamo, testkit::ORDERS).await;
    let env = Env::from_map([
        ("STRIPE_SECRET_KEY", KEY.to_string()),
        ("STRIPE_API_BASE", stack.sim.base_url()),
        ("STRIPE_FILES_BASE", stack.sim.base_url()),
        (
            "STRIPE_WEBHOOK_SECRETS",
            "whsec_test_import_sets".to_string(),
        ),
        ("ORDERS_TABLE", orders),
        ("IDEMPOTENCY_TABLE", stack.idempotency_table.clone()),
        ("CATALOG_BUCKET", stack.bucket.clone()),
        ("MERCHANTS_TABLE", stack.merchants_table.clone()),
        ("CATALOG_TABLE", stack.catalog_table.clone()),
        ("FEED_UPLOAD_INTERVAL_SECONDS", "0".to_string()),
        (
            "DYNAMODB_ENDPOINT",
            std::env::var("DYNAMODB_ENDPOINT").unwrap(),
        ),
        ("S3_ENDPOINT", std::env::var("S3_ENDPOINT").unwrap()),
    ]);
    let webhooks_function = Arc::new(webhooks::init(env).await.unwrap());
    let f = webhooks_function.clone();
    let gateway = testkit::gateway::serve(move |request| {
        let f = f.clone();
        async move { webhooks::handle(&f, &request).await }
    })
    .await;
    let response = stack
        .http
        .post(format!("{}/_sim/webhook_endpoint", stack.sim.base_url()))
        .json(&serde_json::json!({"url": gateway.url("/stripe/webhooks"), "secret": "whsec_test_import_sets"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());

    stack
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/evented.csv"),
            &csv(&[row("SKU-1", "Mug", "1.00 USD", 1)]),
        )
        .await;
    assert_eq!(stack.status("evented.csv").await["status"], "processing");
    let import_set = stack.status("evented.csv").await["stripe_import_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Stripe finishes it; the event goes out and is answered before this call returns.
    let finished: Value = stack
        .http
        .post(format!(
            "{}/_sim/imports/{import_set}/complete",
            stack.sim.base_url()
        ))
        .json(&serde_json::json!({"wait_for_delivery": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        finished["events"].as_array().map(Vec::len),
        Some(1),
        "{finished}"
    );
    let status = stack.status("evented.csv").await;
    assert_eq!(status["status"], "succeeded", "{status}");
    assert!(
        stack
            .catalog()
            .sku(ACCOUNT, "SKU-1")
            .await
            .unwrap()
            .is_some(),
        "SKU records written by the event path"
    );
}
