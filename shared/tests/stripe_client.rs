//! The Stripe client against stripe-sim: headers, typed errors, and the official SDKs'
//! retry rule, driven by the emulator's fault injection.

use std::time::Duration;

use serde_json::{Value, json};
use shared::config::{Env, StripeSettings};
use shared::secret::Secret;
use shared::stripe::checkout::{CheckoutSessionApi, StripeCheckoutSessions};
use shared::stripe::{RequestOptions, RetryPolicy, StripeClient, StripeError};
use stripe_sim::{SimConfig, SimHandle};

const KEY: &str = "sk_test_sim";

async fn sim() -> SimHandle {
    stripe_sim::start(SimConfig::default(), 0).await.unwrap()
}

fn client(sim: &SimHandle, key: &str, max_retries: u32) -> StripeClient {
    let env = Env::from_map([("STRIPE_API_BASE", sim.base_url())]);
    let settings = StripeSettings::from_env(&env).unwrap();
    let http = shared::stripe::http_client(&settings).unwrap();
    // Real backoff shape, compressed so the suite stays fast.
    StripeClient::new(http, &settings, Secret::new(key)).with_retry_policy(RetryPolicy {
        max_retries,
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        max_retry_after: Duration::from_secs(60),
    })
}

async fn control(sim: &SimHandle, path: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{path}");
    response.json().await.unwrap()
}

async fn purchase(sim: &SimHandle, account: &str) -> Value {
    control(sim, "/_sim/agentic_checkouts", json!({"account": account, "sku": "SKU-1", "quantity": 1, "unit_amount": 2000, "deliver": false})).await
}

async fn fault(sim: &SimHandle, spec: Value) {
    control(sim, "/_sim/faults", spec).await;
}

#[tokio::test]
async fn server_errors_are_retried_until_the_limit() {
    let sim = sim().await;
    let created = purchase(&sim, "acct_1A").await;
    let id = created["checkout_session"]["id"].as_str().unwrap();
    let sessions = StripeCheckoutSessions::new(client(&sim, KEY, 2), "2025-12-15.preview");

    fault(
        &sim,
        json!({"path_prefix": "/v1/checkout/sessions", "status": 500, "count": 2}),
    )
    .await;
    let session = sessions
        .retrieve_for_order("acct_1A", id)
        .await
        .expect("third attempt succeeds");
    assert_eq!(session.id, id);

    fault(
        &sim,
        json!({"path_prefix": "/v1/checkout/sessions", "status": 503, "count": 3}),
    )
    .await;
    let err = sessions
        .retrieve_for_order("acct_1A", id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(err.is_transient());
}

#[tokio::test]
async fn plain_429_is_not_retried_but_should_retry_header_wins() {
    let sim = sim().await;
    let created = purchase(&sim, "acct_1A").await;
    let id = created["checkout_session"]["id"].as_str().unwrap();
    let sessions = StripeCheckoutSessions::new(client(&sim, KEY, 2), "2025-12-15.preview");

    fault(
        &sim,
        json!({"path_prefix": "/v1/checkout/sessions", "status": 429, "count": 1}),
    )
    .await;
    let err = sessions
        .retrieve_for_order("acct_1A", id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(429));
    // The fault was used up by that single attempt.
    assert!(sessions.retrieve_for_order("acct_1A", id).await.is_ok());

    fault(&sim, json!({"path_prefix": "/v1/checkout/sessions", "status": 429, "count": 1, "should_retry": true})).await;
    assert!(
        sessions.retrieve_for_order("acct_1A", id).await.is_ok(),
        "Stripe-Should-Retry: true is retried"
    );

    fault(&sim, json!({"path_prefix": "/v1/checkout/sessions", "status": 500, "count": 1, "should_retry": false})).await;
    assert_eq!(
        sessions
            .retrieve_for_order("acct_1A", id)
            .await
            .unwrap_err()
            .status(),
        Some(500)
    );
}

#[tokio::test]
async fn retried_posts_reuse_their_idempotency_key_so_effects_happen_once() {
    let sim = sim().await;
    let created = purchase(&sim, "acct_1A").await;
    let intent = created["checkout_session"]["payment_intent"]["id"]
        .as_str()
        .unwrap();
    let stripe = client(&sim, KEY, 2);
    // The first attempt is processed, then answered with a 500 (as a lost response
    // looks to a client): the retry must carry the same key and replay, not refund twice.
    fault(&sim, json!({"path_prefix": "/v1/refunds", "method": "POST", "status": 500, "count": 1, "after_processing": true})).await;
    let options = RequestOptions::account("acct_1A");
    let refund = stripe
        .post_form(
            "/v1/refunds",
            &[("payment_intent", intent), ("amount", "700")],
            &options,
        )
        .await
        .unwrap();
    assert_eq!(refund["amount"], 700);
    let intent_after = stripe
        .get(
            &format!("/v1/payment_intents/{intent}"),
            &[("expand[]", "latest_charge")],
            &options,
        )
        .await
        .unwrap();
    assert_eq!(
        intent_after["latest_charge"]["amount_refunded"], 700,
        "exactly one refund of 7.00"
    );

    // A deterministic key from the triggering event replays Stripe's first answer.
    let key = shared::stripe::idempotency_key_for("refund", &["evt_1", intent]);
    let keyed = options.clone().with_idempotency_key(&key);
    let first = stripe
        .post_form(
            "/v1/refunds",
            &[("payment_intent", intent), ("amount", "100")],
            &keyed,
        )
        .await
        .unwrap();
    let again = stripe
        .post_form(
            "/v1/refunds",
            &[("payment_intent", intent), ("amount", "100")],
            &keyed,
        )
        .await
        .unwrap();
    assert_eq!(first["id"], again["id"]);
    let changed = stripe
        .post_form(
            "/v1/refunds",
            &[("payment_intent", intent), ("amount", "200")],
            &keyed,
        )
        .await
        .unwrap_err();
    match changed {
        StripeError::Api {
            status: 400, body, ..
        } => assert_eq!(body.kind, "idempotency_error"),
        other => panic!("expected idempotency_error, got {other:?}"),
    }
}

#[tokio::test]
async fn errors_are_typed_and_never_show_the_key() {
    let sim = sim().await;
    let created = purchase(&sim, "acct_1A").await;
    let id = created["checkout_session"]["id"].as_str().unwrap();

    // Another connected account cannot see this session.
    let sessions = StripeCheckoutSessions::new(client(&sim, KEY, 0), "2025-12-15.preview");
    let err = sessions
        .retrieve_for_order("acct_1Other", id)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.code(), Some("resource_missing"));
    match &err {
        StripeError::Api { request_id, .. } => {
            assert!(request_id.as_deref().is_some_and(|r| r.starts_with("req_")))
        }
        other => panic!("{other:?}"),
    }

    let wrong_key = "sk_test_51WrongKeyAbcdefghijklmnop";
    let bad = StripeCheckoutSessions::new(client(&sim, wrong_key, 0), "2025-12-15.preview");
    let err = bad.retrieve_for_order("acct_1A", id).await.unwrap_err();
    assert_eq!(err.status(), Some(401));
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("WrongKeyAbcdefghijklmnop"), "{shown}");
}

#[tokio::test]
async fn finds_the_session_of_a_payment_intent() {
    let sim = sim().await;
    let created = purchase(&sim, "acct_1A").await;
    let id = created["checkout_session"]["id"].as_str().unwrap();
    let intent = created["checkout_session"]["payment_intent"]["id"]
        .as_str()
        .unwrap();
    let sessions = StripeCheckoutSessions::new(client(&sim, KEY, 0), "2025-12-15.preview");
    assert_eq!(
        sessions
            .find_by_payment_intent("acct_1A", intent)
            .await
            .unwrap()
            .as_deref(),
        Some(id)
    );
    assert_eq!(
        sessions
            .find_by_payment_intent("acct_1B", intent)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn network_failures_are_transient_errors_not_panics() {
    // Nothing listens on this port once the emulator is shut down.
    let sim = sim().await;
    let stripe = client(&sim, KEY, 1);
    sim.shutdown().await;
    let err = stripe
        .get("/v1/charges/ch_1", &[], &RequestOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, StripeError::Network(_)), "{err:?}");
    assert!(err.is_transient());
}

/// The invocation's time budget (shared::budget) bounds every call: a stalled Stripe, a
/// `Retry-After` longer than what is left, or no time at all give a transient error in
/// time, so the function answers "retry later" instead of being killed by its timeout.
#[tokio::test]
async fn a_call_never_outlives_the_invocations_budget() {
    use shared::budget;
    use tokio::time::Instant;

    let sim = sim().await;
    let created = purchase(&sim, "acct_1A").await;
    let id = created["checkout_session"]["id"].as_str().unwrap();
    let sessions = StripeCheckoutSessions::new(client(&sim, KEY, 2), "2025-12-15.preview");

    // Stripe stalls for 5 s on every attempt; the budget is 600 ms.
    fault(
        &sim,
        json!({"path_prefix": "/v1/checkout/sessions", "delay_ms": 5000, "count": 3}),
    )
    .await;
    let started = Instant::now();
    let stalled = budget::within(
        Instant::now() + Duration::from_millis(600),
        sessions.retrieve_for_order("acct_1A", id),
    )
    .await
    .unwrap_err();
    assert!(stalled.is_transient(), "{stalled}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the stall was cut off at the budget, not after 3 × 5 s: {:?}",
        started.elapsed()
    );
    let cleared = reqwest::Client::new()
        .delete(format!("{}/_sim/faults", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success());

    // Stripe asks for 30 s before a retry; 2 s are left: the 503 comes back now.
    fault(&sim, json!({"path_prefix": "/v1/checkout/sessions", "status": 503, "count": 1, "retry_after": 30})).await;
    let started = Instant::now();
    let busy = budget::within(
        Instant::now() + Duration::from_secs(2),
        sessions.retrieve_for_order("acct_1A", id),
    )
    .await
    .unwrap_err();
    assert_eq!(busy.status(), Some(503));
    assert!(started.elapsed() < Duration::from_secs(2));

    // Nothing left: not even sent, and the fault-free call outside the budget still works.
    let spent = budget::within(Instant::now(), sessions.retrieve_for_order("acct_1A", id))
        .await
        .unwrap_err();
    assert!(spent.is_transient());
    assert!(spent.to_string().contains("time budget"), "{spent}");
    assert!(sessions.retrieve_for_order("acct_1A", id).await.is_ok());
}
