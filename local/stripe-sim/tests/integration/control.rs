use crate::common::{ACCT, Env, body};
use serde_json::{Value, json};

#[tokio::test]
async fn seeded_ids_are_used_exactly_and_only_once() {
    let env = Env::start().await;
    let ids = json!({"checkout_session": "cs_test_a1Fixture", "payment_intent": "pi_3Fixture", "charge": "ch_3Fixture"});
    let purchase = env
        .purchase(json!({"ids": ids, "created": 1_700_000_000, "receipt_number": "1234-5678"}))
        .await;
    let s = &purchase["checkout_session"];
    assert_eq!(s["id"], "cs_test_a1Fixture");
    assert_eq!(s["created"], 1_700_000_000);
    assert_eq!(s["payment_intent"]["id"], "pi_3Fixture");
    assert_eq!(s["payment_intent"]["latest_charge"]["id"], "ch_3Fixture");
    assert_eq!(
        s["payment_intent"]["latest_charge"]["receipt_number"],
        "1234-5678"
    );
    let (status, _, v) = body(
        env.get("/v1/payment_intents/pi_3Fixture", Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["latest_charge"], "ch_3Fixture");

    let (status, v) = env.control_raw("/_sim/agentic_checkouts", json!({"account": ACCT, "sku": "S", "unit_amount": 1, "ids": {"checkout_session": "cs_test_a1Fixture"}})).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "resource_already_exists");
}

#[tokio::test]
async fn bad_control_bodies_get_stripe_shaped_errors() {
    let env = Env::start().await;
    for body in [
        json!({"account": ACCT, "sku": "S", "unit_amount": 100, "quantiy": 2}),
        json!({"account": ACCT, "unit_amount": 100}),
        json!({"account": ACCT, "sku": "S", "unit_amount": -1}),
        json!({"account": ACCT, "sku": "S", "unit_amount": 100, "tax": {"percentage": 250.0}}),
        json!({"account": ACCT, "sku": "S", "unit_amount": 100, "capture_method": "later"}),
        json!({"account": "merchant-1", "sku": "S", "unit_amount": 100}),
        json!({"account": ACCT, "sku": "S", "unit_amount": 100, "line_items": [{"sku": "T", "unit_amount": 1}]}),
    ] {
        let (status, v) = env
            .control_raw("/_sim/agentic_checkouts", body.clone())
            .await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{body}");
    }
    let resp = env
        .http
        .post(env.url("/_sim/agentic_checkouts"))
        .body("{not json")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.headers().contains_key("request-id"));
    assert!(env.events().await.is_empty(), "nothing half-made");
}

#[tokio::test]
async fn several_lines_and_inclusive_tax() {
    let env = Env::start().await;
    let purchase = env
        .control(
            "/_sim/agentic_checkouts",
            json!({
                "account": ACCT,
                "currency": "EUR",
                "line_items": [
                    {"sku": "A", "quantity": 1, "unit_amount": 1200, "tax": {"percentage": 20.0, "tax_type": "vat", "inclusive": true, "country": "FR"}},
                    {"sku": "B", "quantity": 3, "unit_amount": 100}
                ]
            }),
        )
        .await;
    let s = &purchase["checkout_session"];
    assert_eq!(s["currency"], "eur");
    assert_eq!(s["amount_subtotal"], 1500);
    assert_eq!(s["amount_total"], 1500, "inclusive tax is not added on top");
    assert_eq!(s["total_details"]["amount_tax"], 200);
    let lines = s["line_items"]["data"].as_array().expect("lines");
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["taxes"][0]["rate"]["display_name"], "VAT");
    assert_eq!(lines[0]["taxes"][0]["rate"]["inclusive"], true);
    assert_eq!(lines[0]["taxes"][0]["taxable_amount"], 1000);
    assert_eq!(lines[1]["taxes"], json!([]));
    assert_eq!(lines[1]["price"]["external_reference"], "B");
}

#[tokio::test]
async fn expiring_sessions() {
    let env = Env::start().await;
    let expired = env
        .control(
            "/_sim/checkout_sessions/expire",
            json!({"account": ACCT, "checkout_session": "cs_test_a1Expire"}),
        )
        .await;
    assert_eq!(expired["checkout_session"]["status"], "expired");
    assert_eq!(expired["checkout_session"]["payment_status"], "unpaid");
    assert_eq!(expired["checkout_session"]["payment_intent"], Value::Null);
    let (status, _, s) = body(
        env.get("/v1/checkout/sessions/cs_test_a1Expire", Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(s["status"], "expired");
    let events = env.events().await;
    assert_eq!(events[0]["event"]["type"], "checkout.session.expired");
    assert_eq!(
        events[0]["event"]["data"]["object"]["id"],
        "cs_test_a1Expire"
    );

    let (status, v) = env
        .control_raw(
            "/_sim/checkout_sessions/expire",
            json!({"account": ACCT, "checkout_session": "cs_test_a1Expire"}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    let completed = env.purchase(json!({})).await;
    let (status, _) = env
        .control_raw(
            "/_sim/checkout_sessions/expire",
            json!({"account": ACCT, "checkout_session": completed["checkout_session"]["id"]}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn late_payment_failure_does_not_regress_a_paid_intent() {
    let env = Env::start().await;
    let purchase = env.purchase(json!({})).await;
    let pi = purchase["checkout_session"]["payment_intent"]["id"]
        .as_str()
        .expect("pi")
        .to_string();
    let failure = env
        .control(
            "/_sim/payment_failures",
            json!({"account": ACCT, "payment_intent": pi, "decline_code": "insufficient_funds"}),
        )
        .await;
    assert_eq!(
        failure["payment_intent"]["status"],
        "requires_payment_method"
    );
    let events = env.events().await;
    let event = &events.last().expect("event")["event"];
    assert_eq!(event["type"], "payment_intent.payment_failed");
    let object = &event["data"]["object"];
    assert_eq!(object["id"], json!(pi));
    assert_eq!(object["status"], "requires_payment_method");
    assert_eq!(object["last_payment_error"]["type"], "card_error");
    assert_eq!(
        object["last_payment_error"]["decline_code"],
        "insufficient_funds"
    );
    let (_, _, stored) = body(
        env.get(&format!("/v1/payment_intents/{pi}"), Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(stored["status"], "succeeded");
    assert_eq!(stored["last_payment_error"], Value::Null);

    // An intent the emulator has not seen is created in the failed state.
    env.control(
        "/_sim/payment_failures",
        json!({"account": ACCT, "payment_intent": "pi_3NewFail", "amount": 700}),
    )
    .await;
    let (_, _, fresh) = body(
        env.get("/v1/payment_intents/pi_3NewFail", Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(fresh["status"], "requires_payment_method");
    assert_eq!(fresh["amount"], 700);
}

#[tokio::test]
async fn dispute_lifecycle() {
    let env = Env::start().await;
    let purchase = env.purchase(json!({})).await;
    let charge = purchase["checkout_session"]["payment_intent"]["latest_charge"]["id"]
        .as_str()
        .expect("ch")
        .to_string();
    let created = env
        .control(
            "/_sim/disputes",
            json!({"account": ACCT, "charge": charge, "reason": "product_not_received"}),
        )
        .await;
    let dispute = &created["dispute"];
    let id = dispute["id"].as_str().expect("dp").to_string();
    assert!(id.starts_with("dp_"));
    assert_eq!(dispute["status"], "needs_response");
    assert_eq!(dispute["amount"], 3748);
    assert_eq!(dispute["is_charge_refundable"], false);
    let (_, _, ch) = body(
        env.get(&format!("/v1/charges/{charge}"), Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(ch["disputed"], true);

    // A charged-back payment cannot also be refunded.
    let (status, _, v) = body(
        env.post("/v1/refunds", Some(ACCT))
            .form(&[("charge", charge.as_str())])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "charge_disputed");

    env.control(
        &format!("/_sim/disputes/{id}/update"),
        json!({"account": ACCT, "status": "under_review"}),
    )
    .await;
    env.control(
        &format!("/_sim/disputes/{id}/close"),
        json!({"account": ACCT, "status": "won"}),
    )
    .await;
    let (status, _) = env
        .control_raw(
            &format!("/_sim/disputes/{id}/close"),
            json!({"account": ACCT, "status": "lost"}),
        )
        .await;
    assert_eq!(status, 400, "closed disputes stay closed");
    let (status, _) = env
        .control_raw(
            &format!("/_sim/disputes/{id}/update"),
            json!({"account": ACCT, "status": "won"}),
        )
        .await;
    assert_eq!(status, 400);

    let events = env.events().await;
    let dispute_events: Vec<&Value> = events
        .iter()
        .map(|e| &e["event"])
        .filter(|e| {
            e["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("charge.dispute."))
        })
        .collect();
    let kinds: Vec<&str> = dispute_events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "charge.dispute.created",
            "charge.dispute.updated",
            "charge.dispute.closed"
        ]
    );
    assert_eq!(
        dispute_events[1]["data"]["previous_attributes"],
        json!({"status": "needs_response"})
    );
    assert_eq!(dispute_events[2]["data"]["object"]["status"], "won");

    let (status, _, got) = body(
        env.get(&format!("/v1/disputes/{id}"), Some(ACCT))
            .query(&[("expand[]", "charge")])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got["status"], "won");
    assert_eq!(got["charge"]["id"], json!(charge));
    let (status, _, _) = body(
        env.get(&format!("/v1/disputes/{id}"), Some("acct_1Other"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn reset_forgets_everything() {
    let env = Env::start().await;
    let purchase = env.purchase(json!({})).await;
    env.control(
        "/_sim/faults",
        json!({"path_prefix": "/v1/refunds", "status": 500}),
    )
    .await;
    env.control("/_sim/reset", json!({})).await;
    let id = purchase["checkout_session"]["id"].as_str().expect("id");
    let (status, _, _) = body(
        env.get(&format!("/v1/checkout/sessions/{id}"), Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 404);
    assert!(env.events().await.is_empty());
    let (status, _, _) = body(
        env.post("/v1/refunds", Some(ACCT))
            .form(&[("charge", "ch_x")])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 404, "the fault is gone too");
    let health: Value = env
        .http
        .get(env.url("/_sim/health"))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(health["ok"], true);
}
