//! What reaches the route: every payload shape, bad signatures, the other mode, events not handled here.

use super::*;

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

/// A genuine event of the other mode: nothing a retry fixes, so it is kept for an operator
/// and answered 2xx (Stripe would otherwise retry it for three days).
#[tokio::test]
async fn events_of_the_other_mode_are_kept_for_an_operator() {
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
    assert_eq!(
        (status, &body["dead_letter"]),
        (200, &json!(true)),
        "{body}"
    );
    assert_eq!(stack.item_count(&stack.orders_table).await, 0);
    let kept = stack.dead_letters().await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].event_id, "evt_1FixtureCompleted");
    assert_eq!(kept[0].account_id, "acct_1FixtureMerchant");
    assert!(kept[0].reason.contains("live event"), "{}", kept[0].reason);
    assert!(kept[0].payload.contains("\"livemode\": true"));
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
    assert_eq!(
        (status, &body["dead_letter"]),
        (200, &json!(true)),
        "{body}"
    );
    assert!(
        body["reason"].as_str().unwrap().contains("/stripe/events"),
        "{body}"
    );
    assert_eq!(stack.dead_letters().await[0].event_id, "evt_thin");
}
