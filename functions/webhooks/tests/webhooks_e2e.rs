//! The webhooks function end to end: committed `events/` fixtures (re-signed now) and real
//! deliveries from stripe-sim, through the function's handler, the Stripe client against
//! stripe-sim and the stores on DynamoDB Local.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use base64::Engine;
use sample_events::fixtures::TEST_WEBHOOK_SECRET;
use serde_json::{Value, json};
use shared::config::Env;
use shared::store::OrderStore;
use shared::store::dynamo::DynamoOrders;
use stripe_sim::{SimConfig, SimHandle};

const SIM_KEY: &str = "sk_test_sim";

struct Stack {
    app: Arc<webhooks::Function>,
    sim: SimHandle,
    dynamo: Client,
    orders_table: String,
    idempotency_table: String,
    http: reqwest::Client,
}

impl Stack {
    async fn start() -> Self {
        let dynamo = testkit::dynamo().await;
        let orders_table = testkit::fresh_table(&dynamo, testkit::ORDERS).await;
        let idempotency_table = testkit::fresh_table(&dynamo, testkit::IDEMPOTENCY).await;
        let sim = stripe_sim::start(
            SimConfig {
                webhook_secret: TEST_WEBHOOK_SECRET.into(),
                ..SimConfig::default()
            },
            0,
        )
        .await
        .unwrap();
        let env = Env::from_map([
            ("STRIPE_SECRET_KEY", SIM_KEY.to_string()),
            ("STRIPE_API_BASE", sim.base_url()),
            ("STRIPE_FILES_BASE", sim.base_url()),
            ("STRIPE_WEBHOOK_SECRETS", TEST_WEBHOOK_SECRET.to_string()),
            ("ORDERS_TABLE", orders_table.clone()),
            ("IDEMPOTENCY_TABLE", idempotency_table.clone()),
            (
                "DYNAMODB_ENDPOINT",
                std::env::var("DYNAMODB_ENDPOINT").unwrap(),
            ),
        ]);
        let app = Arc::new(webhooks::init(env).await.unwrap());
        Stack {
            app,
            sim,
            dynamo,
            orders_table,
            idempotency_table,
            http: reqwest::Client::new(),
        }
    }

    fn orders(&self) -> DynamoOrders {
        DynamoOrders::new(self.dynamo.clone(), &self.orders_table)
    }

    async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {value}");
        value
    }

    /// Seeds stripe-sim with the purchase the committed fixtures describe, without
    /// delivering its webhooks (the test delivers the fixtures itself).
    async fn seed_fixture_purchase(&self) -> Value {
        let completed = testkit::fixture_event(&testkit::fixture(
            "webhooks/checkout_session_completed.json",
        ));
        let session = &completed["data"]["object"];
        self.control("/_sim/agentic_checkouts", json!({
            "account": completed["account"],
            "sku": "MUG-TRAIL-12", "quantity": 2, "unit_amount": 1500, "currency": "usd",
            "product": {"name": "Trail Mug", "description": "12 oz enamel camping mug", "gtin": "00012345678905", "mpn": "TM-12"},
            "tax": {"percentage": 8.25, "tax_type": "sales_tax", "display_name": "Sales tax", "inclusive": false},
            "shipping_amount": 500,
            "agent_details": {"agent_name": "ChatGPT", "agent_id": "agt_openai"},
            "ids": {"checkout_session": session["id"], "payment_intent": session["payment_intent"], "charge": "ch_3Fixture"},
            "deliver": false
        }))
        .await
    }

    /// The session as a Stripe client sees it, for expected values the order must match.
    async fn session_from_stripe(&self, account: &str, id: &str) -> Value {
        self.http
            .get(format!("{}/v1/checkout/sessions/{id}", self.sim.base_url()))
            .bearer_auth(SIM_KEY)
            .header("Stripe-Account", account)
            .query(&[
                ("expand[]", "line_items.data.price.product"),
                ("expand[]", "line_items.data.taxes"),
                ("expand[]", "payment_intent.latest_charge"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn item_count(&self, table: &str) -> i32 {
        self.dynamo
            .scan()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .count()
    }

    async fn deliver(&self, request: &lambda_http::Request) -> (u16, Value) {
        let response = webhooks::handle(&self.app, request).await;
        assert_eq!(response.headers()["content-type"], "application/json");
        testkit::answer(&response)
    }
}

#[tokio::test]
async fn completed_fixture_becomes_an_order_with_every_field() {
    let stack = Stack::start().await;
    stack.seed_fixture_purchase().await;
    let fixture = testkit::fixture("webhooks/checkout_session_completed.json");
    let event = testkit::fixture_event(&fixture);
    let account = event["account"].as_str().unwrap();
    let session_id = event["data"]["object"]["id"].as_str().unwrap();

    let (status, body) = stack
        .deliver(&testkit::signed_request(&fixture, TEST_WEBHOOK_SECRET))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"]["action"], "order_created");

    let order = stack
        .orders()
        .get(account, session_id)
        .await
        .unwrap()
        .expect("order stored");
    let s = stack.session_from_stripe(account, session_id).await;
    let item = &s["line_items"]["data"][0];
    let charge = &s["payment_intent"]["latest_charge"];
    let card = &charge["payment_method_details"]["card"];
    // Every row of docs/stripe.md §6, compared with what Stripe (the emulator) returns.
    assert_eq!(order.order_date, charge["created"].as_i64());
    assert_eq!(order.lines.len(), 1);
    let line = &order.lines[0];
    assert_eq!(line.quantity, item["quantity"].as_i64().unwrap());
    assert_eq!(
        line.sku.as_deref(),
        item["price"]["external_reference"].as_str()
    );
    assert_eq!(line.sku.as_deref(), Some("MUG-TRAIL-12"));
    assert_eq!(
        line.description.as_deref(),
        item["price"]["product"]["description"].as_str()
    );
    assert_eq!(line.unit_amount, item["price"]["unit_amount"].as_i64());
    assert_eq!(line.taxes.len(), 1);
    assert_eq!(
        line.taxes[0].amount,
        item["taxes"][0]["amount"].as_i64().unwrap()
    );
    assert_eq!(
        line.taxes[0].tax_type.as_deref(),
        item["taxes"][0]["rate"]["tax_type"].as_str()
    );
    assert_eq!(line.taxes[0].rate_percentage.as_deref(), Some("8.25"));
    assert_eq!(
        serde_json::to_value(&order.shipping).unwrap(),
        s["collected_information"]["shipping_details"]
    );
    assert_eq!(
        order.billing.as_ref().and_then(|b| b.name.as_deref()),
        charge["billing_details"]["name"].as_str()
    );
    assert_eq!(
        serde_json::to_value(order.billing.as_ref().unwrap().address.as_ref().unwrap()).unwrap(),
        charge["billing_details"]["address"]
    );
    let stored_card = order.card.as_ref().unwrap();
    assert_eq!(stored_card.last4.as_deref(), card["last4"].as_str());
    assert_eq!(stored_card.exp_month, card["exp_month"].as_i64());
    assert_eq!(stored_card.exp_year, card["exp_year"].as_i64());
    assert_eq!(stored_card.brand.as_deref(), card["brand"].as_str());
    assert_eq!(order.amount_total, s["amount_total"].as_i64());
    assert_eq!(
        order.amount_total,
        Some(2 * 1500 + 248 + 500),
        "subtotal + 8.25% tax + shipping, in cents"
    );
    assert_eq!(line.gtin.as_deref(), Some("00012345678905"));
    assert_eq!(line.mpn.as_deref(), Some("TM-12"));
    assert_eq!(
        order.agent_details.as_ref(),
        Some(&s["payment_intent"]["agent_details"])
    );
    assert_eq!(
        order.order_number.as_deref(),
        charge["receipt_number"].as_str()
    );
    assert!(order.order_number.is_some());
    assert_eq!(order.payment.status, "succeeded");
}

/// The same signed bytes arrive in each of API Gateway's shapes: `lambda_http` gives the
/// handler the exact body every time, so each verifies and the event applies once.
#[tokio::test]
async fn one_signed_body_verifies_in_every_payload_shape() {
    let stack = Stack::start().await;
    stack.seed_fixture_purchase().await;
    let fixture = testkit::fixture("webhooks/checkout_session_completed.json");
    let signed = testkit::signed_event(&fixture, TEST_WEBHOOK_SECRET);
    let body = sample_events::fixtures::body_bytes(&signed).unwrap();
    let signature = sample_events::fixtures::header(&signed, "stripe-signature")
        .unwrap()
        .to_string();
    let headers = [
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Stripe-Signature".to_string(), signature),
    ];

    // REST API (payload 1.0), first: the order is created.
    let rest = sample_events::aws::rest_api_request("POST", "/stripe/webhooks", &headers, &body);
    let (status, answer) = stack.deliver(&testkit::lambda_request(&rest)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["outcome"]["action"], "order_created");

    // HTTP API (payload 2.0), as text and as base64 (API Gateway encodes what it deems
    // binary): the same event, recognised as a duplicate.
    let http_api =
        sample_events::aws::http_api_request("POST", "/stripe/webhooks", "", &headers, &body);
    let mut base64 = serde_json::to_value(&http_api).unwrap();
    base64["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&body));
    base64["isBase64Encoded"] = json!(true);
    for (shape, event) in [
        ("2.0", serde_json::to_value(&http_api).unwrap()),
        ("2.0 base64", base64),
    ] {
        let (status, answer) = stack.deliver(&testkit::lambda_request(&event)).await;
        assert_eq!(
            (status, &answer["duplicate"]),
            (200, &json!(true)),
            "{shape}: {answer}"
        );
    }
    assert_eq!(stack.item_count(&stack.orders_table).await, 1);

    // One changed byte in any shape fails verification.
    let mut altered = body.clone();
    altered[body.len() / 2] ^= 1;
    let rest = sample_events::aws::rest_api_request("POST", "/stripe/webhooks", &headers, &altered);
    let (status, answer) = stack.deliver(&testkit::lambda_request(&rest)).await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test]
async fn twenty_concurrent_deliveries_make_one_order() {
    let stack = Stack::start().await;
    stack.seed_fixture_purchase().await;
    let fixture = testkit::fixture("webhooks/checkout_session_completed.json");
    let event = testkit::signed_event(&fixture, TEST_WEBHOOK_SECRET);
    let deliveries = (0..20).map(|_| {
        let app = stack.app.clone();
        let request = testkit::lambda_request(&event);
        tokio::spawn(async move { webhooks::handle(&app, &request).await.status().as_u16() })
    });
    let statuses: Vec<u16> = futures::future::join_all(deliveries)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // Each delivery either applied the event, saw it applied, or was told to come back
    // (409) while another copy was in flight; none failed.
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200));
    assert_eq!(stack.item_count(&stack.orders_table).await, 1);
    // A later redelivery is acknowledged as a duplicate.
    let (status, body) = stack.deliver(&testkit::lambda_request(&event)).await;
    assert_eq!(status, 200);
    assert_eq!(body["duplicate"], true);
}

#[tokio::test]
async fn bad_signatures_get_400_and_write_nothing() {
    let stack = Stack::start().await;
    stack.seed_fixture_purchase().await;
    let fixture = testkit::fixture("webhooks/checkout_session_completed.json");

    let mut tampered = testkit::signed_event(&fixture, TEST_WEBHOOK_SECRET);
    let body = tampered["body"].as_str().unwrap().to_string();
    assert!(body.contains("\"amount_total\": 3748"));
    tampered["body"] = Value::String(body.replace("\"amount_total\": 3748", "\"amount_total\": 1"));
    let tampered = testkit::lambda_request(&tampered);
    let wrong_secret = testkit::signed_request(&fixture, "whsec_someone_else");
    let mut expired = fixture.clone();
    sample_events::fixtures::resign(
        &mut expired,
        &[TEST_WEBHOOK_SECRET],
        testkit::now_seconds() - 301,
    )
    .unwrap();
    let expired = testkit::lambda_request(&expired);
    let mut unsigned = testkit::signed_event(&fixture, TEST_WEBHOOK_SECRET);
    unsigned["headers"]
        .as_object_mut()
        .unwrap()
        .remove("stripe-signature")
        .expect("the fixture was signed");
    let unsigned = testkit::lambda_request(&unsigned);

    for (name, request, expect) in [
        ("tampered", &tampered, "raw request body"),
        (
            "wrong secret",
            &wrong_secret,
            "No signatures found matching",
        ),
        ("expired", &expired, "tolerance"),
        ("unsigned", &unsigned, "No Stripe-Signature header"),
    ] {
        let (status, body) = stack.deliver(request).await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(
            body["error"]["type"], "signature_verification_failed",
            "{name}"
        );
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(expect), "{name}: {message}");
    }
    assert_eq!(stack.item_count(&stack.orders_table).await, 0);
    assert_eq!(stack.item_count(&stack.idempotency_table).await, 0);
}

#[tokio::test]
async fn events_of_the_other_mode_are_refused() {
    let stack = Stack::start().await;
    let mut fixture = testkit::fixture("webhooks/checkout_session_completed.json");
    let body = fixture["body"].as_str().unwrap().replace(
        "\"livemode\": false,\n  \"pending_webhooks\"",
        "\"livemode\": true,\n  \"pending_webhooks\"",
    );
    fixture["body"] = json!(body);
    let (status, body) = stack
        .deliver(&testkit::signed_request(&fixture, TEST_WEBHOOK_SECRET))
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["type"], "livemode_mismatch");
    assert_eq!(stack.item_count(&stack.idempotency_table).await, 0);
}

#[tokio::test]
async fn every_fixture_is_accepted_in_any_order() {
    let stack = Stack::start().await;
    stack.seed_fixture_purchase().await;
    let names = [
        "charge_dispute_closed",
        "charge_refunded",
        "payment_intent_payment_failed",
        "charge_dispute_created",
        "payment_intent_succeeded",
        "checkout_session_expired",
        "charge_dispute_updated",
        "checkout_session_completed",
    ];
    for name in names {
        let fixture = testkit::fixture(&format!("webhooks/{name}.json"));
        let (status, body) = stack
            .deliver(&testkit::signed_request(&fixture, TEST_WEBHOOK_SECRET))
            .await;
        assert_eq!(status, 200, "{name}: {body}");
    }
    let event = testkit::fixture_event(&testkit::fixture(
        "webhooks/checkout_session_completed.json",
    ));
    let order = stack
        .orders()
        .get(
            event["account"].as_str().unwrap(),
            event["data"]["object"]["id"].as_str().unwrap(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.payment.status, "succeeded");
    assert_eq!(
        order.refund.amount_refunded, 1000,
        "the refund fixture refunds 10.00"
    );
    assert_eq!(order.refund.status, "partial");
    assert_eq!(order.disputes["dp_1Fixture"].status, "lost");
    assert_eq!(
        stack.item_count(&stack.orders_table).await,
        1,
        "the expired fixture's session has no order"
    );
}

#[tokio::test]
async fn unhandled_types_and_thin_events_are_answered_clearly() {
    let stack = Stack::start().await;
    let mut fixture = testkit::fixture("webhooks/checkout_session_completed.json");
    let body = fixture["body"]
        .as_str()
        .unwrap()
        .replace("checkout.session.completed", "customer.created");
    fixture["body"] = json!(body);
    let (status, body) = stack
        .deliver(&testkit::signed_request(&fixture, TEST_WEBHOOK_SECRET))
        .await;
    assert_eq!(
        (status, body["handled"].clone()),
        (200, json!(false)),
        "{body}"
    );

    fixture["body"] = json!(
        r#"{"id":"evt_thin","object":"v2.core.event","type":"v2.core.account.updated","livemode":false,"created":"2026-01-01T00:00:00.000Z"}"#
    );
    let (status, body) = stack
        .deliver(&testkit::signed_request(&fixture, TEST_WEBHOOK_SECRET))
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/stripe/events")
    );
    assert_eq!(stack.item_count(&stack.idempotency_table).await, 0);
}

/// The whole path over HTTP: stripe-sim completes an agentic checkout and delivers its
/// webhooks (duplicated, in reverse order) to the function behind a local API Gateway;
/// then a partial refund and a dispute, made through Stripe's API, land on the order.
#[tokio::test]
async fn stripe_sim_deliveries_over_http_converge() {
    let stack = Stack::start().await;
    let app = stack.app.clone();
    let gateway = testkit::gateway::serve(move |request| {
        let app = app.clone();
        async move { webhooks::handle(&app, &request).await }
    })
    .await;
    stack
        .control(
            "/_sim/webhook_endpoint",
            json!({"url": gateway.url("/stripe/webhooks"), "secret": TEST_WEBHOOK_SECRET}),
        )
        .await;

    let account = "acct_1HttpMerchant";
    let created = stack
        .control("/_sim/agentic_checkouts", json!({
            "account": account, "sku": "SKU-HTTP-1", "quantity": 3, "unit_amount": 999, "currency": "usd",
            "delivery": {"duplicates": 2, "reorder": true}, "wait_for_delivery": true
        }))
        .await;
    let session_id = created["checkout_session"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let intent_id = created["checkout_session"]["payment_intent"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let order = stack
        .orders()
        .get(account, &session_id)
        .await
        .unwrap()
        .expect("order from delivered webhooks");
    assert_eq!(order.payment.status, "succeeded");
    assert_eq!(order.lines[0].quantity, 3);
    assert_eq!(order.lines[0].sku.as_deref(), Some("SKU-HTTP-1"));

    // A partial refund through the Stripe API; the sim delivers charge.refunded.
    let refund: Value = stack
        .http
        .post(format!("{}/v1/refunds", stack.sim.base_url()))
        .bearer_auth(SIM_KEY)
        .header("Stripe-Account", account)
        .header("Idempotency-Key", "refund-test-1")
        .form(&[("payment_intent", intent_id.as_str()), ("amount", "500")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(refund["amount"], 500, "{refund}");
    let charge_id = refund["charge"].as_str().unwrap().to_string();
    stack
        .control(
            "/_sim/disputes",
            json!({"account": account, "charge": charge_id, "wait_for_delivery": true}),
        )
        .await;

    // Deliveries of the refund run in the background unless waited for: poll the store
    // (bounded) rather than sleep a fixed time.
    let mut order = order;
    for _ in 0..100 {
        order = stack
            .orders()
            .get(account, &session_id)
            .await
            .unwrap()
            .unwrap();
        if order.refund.amount_refunded == 500 && !order.disputes.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(order.refund.amount_refunded, 500);
    assert_eq!(order.refund.status, "partial");
    assert_eq!(order.disputes.len(), 1);
    assert_eq!(stack.item_count(&stack.orders_table).await, 1);
}

#[tokio::test]
async fn deployed_secrets_are_read_at_first_invocation_and_failures_answer_500() {
    // SECRETS_ID set and no extension listening: start-up succeeds (the extension may not
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
        ("SECRETS_ID", "acb/stripe".to_string()),
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
