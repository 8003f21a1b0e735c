use crate::common::{ACCT, Env, Hit, Receiver, config_with_webhook};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use stripe_sim::SimConfig;

/// Verifies a delivery the way Stripe's SDKs do, independently of the emulator's signer.
pub fn verify(hit: &Hit, secret: &str) -> bool {
    let Some(header) = hit
        .headers
        .get("stripe-signature")
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = Some(t.to_string()),
            Some(("v1", s)) => signatures.push(s.to_string()),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
        - t.parse::<i64>().unwrap_or(0);
    if !(0..300).contains(&age) {
        return false;
    }
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(t.as_bytes());
    mac.update(b".");
    mac.update(&hit.body);
    let expected = hex::encode(mac.finalize().into_bytes());
    signatures.contains(&expected)
}

fn types(hits: &[Hit]) -> Vec<String> {
    hits.iter()
        .map(|h| h.json()["type"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn deliveries_are_signed_snapshot_events() {
    let receiver = Receiver::start(&[]).await;
    let env = Env::with(config_with_webhook(&receiver.url)).await;
    let purchase = env.purchase(json!({"wait_for_delivery": true})).await;
    let hits = receiver.hits();
    assert_eq!(
        types(&hits),
        ["checkout.session.completed", "payment_intent.succeeded"]
    );
    for hit in &hits {
        assert!(verify(hit, "whsec_test_sim"), "signature must verify");
        assert!(!verify(hit, "whsec_other"));
        assert_eq!(
            hit.headers
                .get("content-type")
                .and_then(|h| h.to_str().ok()),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(
            hit.headers.get("user-agent").and_then(|h| h.to_str().ok()),
            Some("Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        );
        // Re-serialised JSON does not verify: the signature covers the exact bytes sent.
        let reserialised = Hit {
            headers: hit.headers.clone(),
            body: serde_json::to_vec(&hit.json()).expect("json").into(),
        };
        assert!(!verify(&reserialised, "whsec_test_sim"));
    }
    let event = hits[0].json();
    assert!(
        event["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("evt_"))
    );
    assert_eq!(event["object"], "event");
    assert_eq!(event["account"], ACCT);
    assert_eq!(event["api_version"], "2025-12-15.preview");
    assert_eq!(event["livemode"], false);
    assert_eq!(event["pending_webhooks"], 1);
    assert_eq!(
        event["request"],
        json!({"id": null, "idempotency_key": null})
    );
    assert!(event["created"].is_i64());
    let session = &event["data"]["object"];
    assert_eq!(session["id"], purchase["checkout_session"]["id"]);
    // Snapshot objects are unexpanded, as Stripe sends them.
    assert!(session["payment_intent"].is_string());
    assert!(session.get("line_items").is_none());
    assert_eq!(purchase["events"][0], event["id"]);

    let recorded = env.events().await;
    assert_eq!(
        recorded[0]["deliveries"],
        json!([{"status": 200, "attempt": 1}])
    );
}

#[tokio::test]
async fn duplicates_and_reordering() {
    let receiver = Receiver::start(&[]).await;
    let env = Env::with(config_with_webhook(&receiver.url)).await;
    let purchase = env
        .purchase(
            json!({"wait_for_delivery": true, "delivery": {"duplicates": 1, "reorder": true}}),
        )
        .await;
    let emitted: Vec<String> = purchase["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e.as_str().map(String::from))
        .collect();
    let received: Vec<String> = receiver
        .hits()
        .iter()
        .map(|h| h.json()["id"].as_str().unwrap_or("").to_string())
        .collect();
    let (a, b) = (emitted[0].clone(), emitted[1].clone());
    assert_eq!(received, [b.clone(), a.clone(), b, a]);
    for record in env.events().await {
        assert_eq!(record["deliveries"].as_array().map(Vec::len), Some(2));
    }
}

#[tokio::test]
async fn configured_defaults_apply_and_background_delivery_arrives() {
    let receiver = Receiver::start(&[]).await;
    let config = SimConfig {
        delivery: stripe_sim::DeliveryOptions {
            duplicates: 2,
            ..Default::default()
        },
        ..config_with_webhook(&receiver.url)
    };
    let env = Env::with(config).await;
    env.control(
        "/_sim/payment_failures",
        json!({"account": ACCT, "payment_intent": "pi_3Fail"}),
    )
    .await;
    let hits = receiver.wait_for(3).await;
    assert_eq!(types(&hits), ["payment_intent.payment_failed"; 3]);
    assert!(hits.iter().all(|h| h.json()["id"] == hits[0].json()["id"]));
}

#[tokio::test]
async fn failed_deliveries_are_retried_and_recorded() {
    let receiver = Receiver::start(&[500, 503]).await;
    let env = Env::with(config_with_webhook(&receiver.url)).await;
    env.control(
        "/_sim/checkout_sessions/expire",
        json!({"account": ACCT, "wait_for_delivery": true}),
    )
    .await;
    let hits = receiver.hits();
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| verify(h, "whsec_test_sim")));
    let recorded = env.events().await;
    assert_eq!(
        recorded[0]["deliveries"],
        json!([{"status": 500, "attempt": 1}, {"status": 503, "attempt": 2}, {"status": 200, "attempt": 3}])
    );

    // max_attempts bounds the retries.
    let receiver = Receiver::start(&[500, 500, 500]).await;
    env.control("/_sim/webhook_endpoint", json!({"url": receiver.url}))
        .await;
    env.control(
        "/_sim/checkout_sessions/expire",
        json!({"account": ACCT, "wait_for_delivery": true, "delivery": {"max_attempts": 2}}),
    )
    .await;
    assert_eq!(receiver.hits().len(), 2);
}

#[tokio::test]
async fn unreachable_endpoints_are_recorded_without_status() {
    let env = Env::with(config_with_webhook("http://127.0.0.1:9/hook")).await;
    env.control(
        "/_sim/checkout_sessions/expire",
        json!({"wait_for_delivery": true, "delivery": {"max_attempts": 1}}),
    )
    .await;
    let recorded = env.events().await;
    let delivery = &recorded[0]["deliveries"][0];
    assert_eq!(delivery["status"], Value::Null);
    assert_eq!(delivery["attempt"], 1);
    assert!(delivery["error"].is_string());
}

#[tokio::test]
async fn resend_and_runtime_endpoint_changes() {
    let env = Env::start().await;
    // No endpoint: events are recorded only.
    let purchase = env.purchase(json!({"wait_for_delivery": true})).await;
    let recorded = env.events().await;
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|r| r["deliveries"] == json!([])));

    let receiver = Receiver::start(&[]).await;
    env.control(
        "/_sim/webhook_endpoint",
        json!({"url": receiver.url, "secret": "whsec_rotated"}),
    )
    .await;
    let event_id = purchase["events"][0].as_str().expect("event id");
    let record = env
        .control(
            &format!("/_sim/events/{event_id}/resend"),
            json!({"wait_for_delivery": true}),
        )
        .await;
    assert_eq!(record["deliveries"], json!([{"status": 200, "attempt": 1}]));
    let record = env
        .control(
            &format!("/_sim/events/{event_id}/resend"),
            json!({"wait_for_delivery": true}),
        )
        .await;
    assert_eq!(record["deliveries"].as_array().map(Vec::len), Some(2));
    let hits = receiver.hits();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| verify(h, "whsec_rotated")));
    assert_eq!(
        hits[0].body, hits[1].body,
        "a resend carries the same event"
    );

    let (status, v) = env
        .control_raw("/_sim/events/evt_missing/resend", json!({}))
        .await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], "resource_missing");

    env.control(
        "/_sim/checkout_sessions/expire",
        json!({"deliver": false, "wait_for_delivery": true}),
    )
    .await;
    assert_eq!(
        receiver.hits().len(),
        2,
        "deliver: false records without sending"
    );
}
