//! `acb orders` against DynamoDB Local and stripe-sim: list, show, capture once, refunds
//! that replay when retried and go through when deliberate.

use std::process::Command;

use serde_json::{Value, json};
use shared::orders::{Order, RefundFact};
use shared::store::OrderStore;
use shared::store::dynamo::DynamoOrders;
use shared::stripe::objects::CheckoutSession;

fn acb(env: &[(&str, String)], args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run acb");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

// Multi-threaded: the emulator keeps serving while a blocking `acb` process asks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_show_capture_and_refund() {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, &shared::store::schema::ORDERS).await;
    let sim = stripe_sim::start(stripe_sim::SimConfig::default(), 0)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{}/_sim/agentic_checkouts", sim.base_url()))
        .json(&json!({"account": "acct_1CliOrders", "sku": "MUG", "quantity": 2, "unit_amount": 1500, "capture_method": "manual", "deliver": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session: CheckoutSession =
        serde_json::from_value(created["checkout_session"].clone()).unwrap();
    let orders = DynamoOrders::new(dynamo.clone(), &table);
    orders
        .insert_if_absent(&Order::from_session("acct_1CliOrders", &session).unwrap())
        .await
        .unwrap();
    let intent = session.payment_intent.as_ref().unwrap().id().to_string();
    let env = [
        ("ORDERS_TABLE", table.clone()),
        ("STRIPE_SECRET_KEY", "sk_test_sim".to_string()),
        ("STRIPE_API_BASE", sim.base_url()),
    ];

    let (ok, out, err) = acb(&env, &["orders", "list", "acct_1CliOrders"]);
    assert!(
        ok && out.contains(&session.id) && out.contains("2×MUG") && out.contains("authorized"),
        "{out}{err}"
    );
    let (ok, out, _) = acb(&env, &["orders", "show", "acct_1CliOrders", &session.id]);
    assert!(ok);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["lines"][0]["sku"], "MUG");

    let (ok, out, err) = acb(&env, &["orders", "capture", "acct_1CliOrders", &session.id]);
    assert!(ok && out.contains("succeeded"), "{out}{err}");
    let (ok, _, _) = acb(&env, &["orders", "capture", "acct_1CliOrders", &session.id]);
    assert!(ok, "a repeated capture replays Stripe's first answer");

    let charge = |http: reqwest::Client, base: String, intent: String| async move {
        let pi: Value = http
            .get(format!("{base}/v1/payment_intents/{intent}"))
            .bearer_auth("sk_test_sim")
            .header("Stripe-Account", "acct_1CliOrders")
            .query(&[("expand[]", "latest_charge")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pi["latest_charge"]["amount_refunded"].as_i64().unwrap()
    };
    let (ok, out, err) = acb(
        &env,
        &[
            "orders",
            "refund",
            "acct_1CliOrders",
            &session.id,
            "--amount",
            "500",
        ],
    );
    assert!(ok && out.contains("refunded"), "{out}{err}");
    // Retried before the webhook recorded the refund: replayed, not repeated.
    acb(
        &env,
        &[
            "orders",
            "refund",
            "acct_1CliOrders",
            &session.id,
            "--amount",
            "500",
        ],
    );
    assert_eq!(
        charge(http.clone(), sim.base_url(), intent.clone()).await,
        500
    );
    // Once recorded (as the webhooks function would), a second refund is a new one.
    orders
        .apply_refund(
            "acct_1CliOrders",
            &session.id,
            &RefundFact {
                amount_refunded: 500,
                status: "partial".into(),
                event_id: Some("evt".into()),
            },
        )
        .await
        .unwrap();
    acb(
        &env,
        &[
            "orders",
            "refund",
            "acct_1CliOrders",
            &session.id,
            "--amount",
            "500",
        ],
    );
    assert_eq!(
        charge(http.clone(), sim.base_url(), intent.clone()).await,
        1000
    );

    let (ok, _, err) = acb(
        &env,
        &[
            "orders",
            "refund",
            "acct_1CliOrders",
            &session.id,
            "--amount",
            "0",
        ],
    );
    assert!(!ok && err.contains("positive"), "{err}");
    let (ok, _, err) = acb(
        &env,
        &["orders", "show", "acct_1CliOrders", "cs_test_missing"],
    );
    assert!(!ok && err.contains("no order"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulate_purchase_plays_a_checkout_on_stripe_sim() {
    let sim = stripe_sim::start(stripe_sim::SimConfig::default(), 0)
        .await
        .unwrap();
    let env = [("STRIPE_SIM_URL", sim.base_url())];
    let (ok, out, err) = acb(
        &env,
        &[
            "simulate",
            "purchase",
            "--account",
            "acct_1Sim",
            "--sku",
            "MUG",
            "--quantity",
            "3",
            "--unit-amount",
            "1000",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.starts_with("completed cs_") && out.contains("total 3000 USD"),
        "{out}"
    );
    let (ok, _, err) = acb(
        &env,
        &[
            "simulate",
            "purchase",
            "--account",
            "not-an-account",
            "--sku",
            "MUG",
        ],
    );
    assert!(!ok && err.contains("stripe-sim answered 400"), "{err}");
}
