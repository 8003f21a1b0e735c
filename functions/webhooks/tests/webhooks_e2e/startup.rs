//! Cold start: secrets read on first use when deployed, missing settings named.

use super::*;

#[tokio::test]
async fn deployed_secrets_are_read_at_first_invocation_and_failures_answer_500() {
    // Deployed secrets (*_SECRET_ID) and no extension listening: start-up succeeds (the extension may not
    // be ready during init), and a delivery gets a retryable 500 that writes nothing.
    let dynamo = testkit::dynamo().await;
    let orders_table = testkit::fresh_table(&dynamo, testkit::ORDERS).await;
    let idempotency_table = testkit::fresh_table(&dynamo, testkit::IDEMPOTENCY).await;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = Env::from_map([
        (
            "STRIPE_SECRET_KEY_SECRET_ID",
            "acb/stripe-secret-key".to_string(),
        ),
        (
            "STRIPE_WEBHOOK_SECRETS_SECRET_ID",
            "acb/stripe-webhook-secrets".to_string(),
        ),
        ("AWS_SESSION_TOKEN", "token".to_string()),
        (
            "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT",
            closed_port.to_string(),
        ),
        ("STRIPE_API_BASE", "http://127.0.0.1:9".to_string()),
        ("ORDERS_TABLE", orders_table.clone()),
        ("IDEMPOTENCY_TABLE", idempotency_table.clone()),
        (
            "DYNAMODB_ENDPOINT",
            std::env::var("DYNAMODB_ENDPOINT").unwrap(),
        ),
    ]);
    let function = webhooks::init(env)
        .await
        .expect("start-up does not need the secrets");
    let fixture = testkit::fixture("webhooks/checkout_session_completed.json");
    let response = webhooks::handle(
        &function,
        &testkit::signed_request(&fixture, TEST_WEBHOOK_SECRET),
    )
    .await;
    assert_eq!(response.status(), 500);
    let count = |t: String| {
        let dynamo = dynamo.clone();
        async move { dynamo.scan().table_name(t).send().await.unwrap().count() }
    };
    assert_eq!(count(orders_table).await, 0);
    assert_eq!(count(idempotency_table).await, 0);
}

#[tokio::test]
async fn a_missing_setting_stops_start_up_with_its_name() {
    let env = Env::from_map([
        ("STRIPE_SECRET_KEY", SIM_KEY),
        ("STRIPE_WEBHOOK_SECRETS", TEST_WEBHOOK_SECRET),
        ("IDEMPOTENCY_TABLE", "x"),
    ]);
    let error = webhooks::init(env)
        .await
        .err()
        .expect("ORDERS_TABLE is missing");
    assert!(error.to_string().contains("ORDERS_TABLE"), "{error}");
    let env = Env::from_map([
        (
            "STRIPE_SECRET_KEY",
            &*format!("sk_{}_abcdefghijklmnopqrstuvwxyz", "live"),
        ),
        ("STRIPE_WEBHOOK_SECRETS", TEST_WEBHOOK_SECRET),
        ("ORDERS_TABLE", "o"),
        ("IDEMPOTENCY_TABLE", "i"),
        ("DYNAMODB_ENDPOINT", "http://127.0.0.1:9"),
    ]);
    let error = webhooks::init(env)
        .await
        .err()
        .expect("a live key in a test deployment");
    let message = error.to_string();
    assert!(
        message.contains("STRIPE_SECRET_KEY") && !message.contains("abcdefghijklmnop"),
        "{message}"
    );
}
