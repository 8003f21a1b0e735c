//! `acb orders` against DynamoDB Local and stripe-sim: list, show, capture once, refunds
//! that replay when retried and go through when deliberate.

use std::process::Command;

use serde_json::{Value, json};
use shared::orders::{Order, RefundFact};
use shared::store::OrderStore;
use shared::store::dynamo::DynamoOrders;
use shared::stripe::objects::CheckoutSession;

/// Minor units of USD as acb prints them.
fn money(amount: i64) -> String {
    format!("{}.{:02} USD", amount / 100, amount % 100)
}

fn acb(env: &[(&str, String)], args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(args)
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("ORDERS_TABLE")
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
    let table = testkit::fresh_table(&dynamo, testkit::ORDERS).await;
    let sim = stripe_sim::start(stripe_sim::SimConfig::default(), 0)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let created: Value = http
        .post(format!("{}/_sim/agentic_checkouts", sim.base_url()))
        .json(&json!({"account": "acct_1CliOrders", "sku": "MUG", "quantity": 2, "unit_amount": 1500, "capture_method": "manual", "deliver": false,
            "agent_details": {"agent_name": "ChatGPT", "agent_id": "agt_openai"}}))
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
        ok && out.contains(&session.id)
            && out.contains("2×MUG")
            && out.contains("authorized")
            && out.contains(&format!("  {}  ", money(session.amount_total.unwrap()))),
        "{out}{err}"
    );
    let (ok, out, _) = acb(&env, &["orders", "show", "acct_1CliOrders", &session.id]);
    assert!(ok);
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["lines"][0]["sku"], "MUG");
    // Which agent bought, as Stripe records it on the payment intent (preview).
    assert_eq!(
        shown["agent_details"],
        json!({"agent_name": "ChatGPT", "agent_id": "agt_openai"})
    );

    let (ok, out, err) = acb(&env, &["orders", "capture", "acct_1CliOrders", &session.id]);
    assert!(
        ok && out.starts_with(&format!(
            "captured {} of order {} ({intent}): status succeeded;",
            money(session.amount_total.unwrap()),
            session.id
        )),
        "{out}{err}"
    );
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
    assert!(
        ok && out.starts_with("refund re_")
            && out.contains(&format!(
                " of 5.00 USD for order {} requested: status succeeded;",
                session.id
            ))
            && out.contains("the charge.refunded webhook will record it"),
        "{out}{err}"
    );
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

    // Once that one is recorded too, no --amount refunds what is left, and --json prints
    // Stripe's refund.
    orders
        .apply_refund(
            "acct_1CliOrders",
            &session.id,
            &RefundFact {
                amount_refunded: 1000,
                status: "partial".into(),
                event_id: Some("evt2".into()),
            },
        )
        .await
        .unwrap();
    let (ok, out, err) = acb(
        &env,
        &["orders", "refund", "acct_1CliOrders", &session.id, "--json"],
    );
    assert!(ok, "{err}");
    let refund: Value = serde_json::from_str(&out).expect("--json prints the refund");
    let total = session.amount_total.unwrap();
    assert_eq!(refund["object"], "refund");
    assert_eq!(refund["amount"], total - 1000);
    assert_eq!(
        charge(http.clone(), sim.base_url(), intent.clone()).await,
        total
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
        out.starts_with("completed cs_")
            && out.contains(": total 30.00 USD (shipping 0.00 USD, tax 0.00 USD); "),
        "{out}"
    );
    let (ok, out, err) = acb(
        &env,
        &[
            "simulate",
            "purchase",
            "--account",
            "acct_1Sim",
            "--sku",
            "MUG",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let answer: Value = serde_json::from_str(&out).expect("--json prints stripe-sim's answer");
    assert_eq!(answer["checkout_session"]["amount_total"], 1500);
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

#[test]
fn stripe_and_table_settings_are_named_and_secrets_never_printed() {
    // No table: the flag, the variable and the stack output.
    let (ok, _, err) = acb(&[], &["orders", "list", "acct_1NoTable"]);
    assert!(!ok);
    assert!(
        err.contains("--table") && err.contains("ORDERS_TABLE") && err.contains("OrdersTableName"),
        "{err}"
    );
    let table = [("ORDERS_TABLE", "acb-cli-no-such-table".to_string())];
    // No key: capture and refund say so before reading anything.
    for command in ["capture", "refund"] {
        let (ok, out, err) = acb(&table, &["orders", command, "acct_1NoKey", "cs_test_1"]);
        assert!(!ok && out.is_empty());
        assert!(
            err.contains("STRIPE_SECRET_KEY is not set") && err.contains("stack.env"),
            "{err}"
        );
    }
    // A wrong key (or one of the wrong mode: a test key for a live-mode deployment) is
    // refused without showing it.
    for (key, livemode) in [
        ("sk_test_cliSecretNeverShown1234", "true"),
        ("whsec_cliSecretNeverShown1234", "false"),
        ("cliSecretNeverShown1234", "false"),
    ] {
        let env = [
            table[0].clone(),
            ("STRIPE_SECRET_KEY", key.to_string()),
            ("STRIPE_LIVEMODE", livemode.to_string()),
        ];
        let (ok, out, err) = acb(&env, &["orders", "capture", "acct_1NoKey", "cs_test_1"]);
        assert!(!ok && err.contains("STRIPE_SECRET_KEY"), "{err}");
        assert!(
            !format!("{out}{err}").contains("cliSecretNeverShown"),
            "{err}"
        );
    }
}
