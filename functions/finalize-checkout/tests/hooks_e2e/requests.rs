//! Requests as Stripe sends them: replays, both payload shapes, and what is refused.

use super::*;

#[tokio::test]
async fn a_replayed_request_gets_the_identical_answer_and_a_changed_body_is_refused() {
    let stack = Stack::start().await;
    let (status, _) = stack.purchase(json!({"replay_hooks": true})).await;
    assert_eq!(status, 200);
    let calls = stack.hook_calls().await;
    for hook in ["customize", "finalize"] {
        let answers: Vec<&Value> = calls
            .iter()
            .filter(|c| c["hook"] == format!("{hook}_checkout"))
            .map(|c| &c["response"])
            .collect();
        assert_eq!(answers.len(), 2, "{hook}");
        assert_eq!(
            answers[0], answers[1],
            "{hook}: a retry gets the same answer"
        );
    }
    assert_eq!(
        stack.available("MUG").await,
        Some(8),
        "the retry reserved nothing more"
    );

    let finalize = calls
        .iter()
        .find(|c| c["hook"] == "finalize_checkout")
        .unwrap();
    let mut changed = finalize["request"].clone();
    changed["data"]["amount_total"] = json!(1);
    let response = stack
        .finalize
        .handle(&stack.signed("/stripe/hooks/finalize_checkout", &changed, HOOK_SECRET))
        .await;
    assert_eq!(response.status(), 409);
}

/// The committed finalize request in API Gateway's two shapes (HTTP API 2.0, REST API
/// 1.0), same bytes and signature: both verify, the first decides, the second replays it.
#[tokio::test]
async fn the_same_signed_finalize_is_answered_alike_in_both_payload_shapes() {
    let stack = Stack::start().await;
    let http_api = testkit::fixture("hooks/finalize_checkout.json");
    let rest = testkit::fixture("hooks/finalize_checkout_rest.json");
    let account = testkit::fixture_event(&http_api)["context"]
        .as_str()
        .unwrap()
        .to_string();
    let mut merchant = Merchant::new(&account);
    merchant.checkout = settings();
    DynamoMerchants::new(stack.dynamo.clone(), &stack.tables[0])
        .put_merchant(&merchant)
        .await
        .unwrap();
    let mut mug = snapshot("MUG-TRAIL-12", Some(5), "in_stock");
    if let SkuChange::Replace(s) = &mut mug {
        s.account_id = account.clone();
    }
    DynamoCatalog::new(stack.dynamo.clone(), &stack.tables[1])
        .apply_sku_changes(&account, "import-1", 0, &[mug])
        .await
        .unwrap();

    // Sign once (v2), and give the v1 event the very same signature header.
    let signed = testkit::signed_event(&http_api, HOOK_SECRET);
    let signature = sample_events::fixtures::header(&signed, "stripe-signature").unwrap();
    let mut rest_signed = rest.clone();
    rest_signed["headers"]["Stripe-Signature"] = json!(signature);
    rest_signed["multiValueHeaders"]["Stripe-Signature"] = json!([signature]);
    assert_eq!(rest_signed["body"], signed["body"]);

    let first = stack
        .finalize
        .handle(&testkit::lambda_request(&signed))
        .await;
    let (status, decision) = testkit::answer(&first);
    assert_eq!(status, 200, "{decision}");
    assert_eq!(
        decision["manual_approval_details"]["type"], "approved",
        "{decision}"
    );
    let second = stack
        .finalize
        .handle(&testkit::lambda_request(&rest_signed))
        .await;
    assert_eq!(testkit::answer(&second), (200, decision));
    assert_eq!(
        stack.available_for(&account, "MUG-TRAIL-12").await,
        Some(3),
        "reserved once"
    );
}

#[tokio::test]
async fn bad_signature_malformed_json_and_unknown_merchant_get_4xx_and_change_nothing() {
    let stack = Stack::start().await;
    let good = json!({"type": "v1.delegated_checkout.finalize_checkout", "id": "req_bad", "livemode": false, "context": ACCOUNT,
        "data": {"currency": "usd", "line_items_details": [{"id": "li_1", "sku_id": "MUG", "quantity": 1}], "amount_total": 1500}});
    let cases = [
        ("wrong secret", stack.signed("/stripe/hooks/finalize_checkout", &good, "whsec_wrong"), 400),
        ("malformed", testkit::signed_post("/stripe/hooks/finalize_checkout", b"{not json", HOOK_SECRET), 400),
        ("unknown merchant", stack.signed("/stripe/hooks/finalize_checkout", &{
            let mut other = good.clone();
            other["context"] = json!("acct_1Nobody");
            other
        }, HOOK_SECRET), 404),
        ("wrong type", stack.signed("/stripe/hooks/finalize_checkout", &json!({"type": "v1.delegated_checkout.customize_checkout", "id": "x", "livemode": false, "context": ACCOUNT, "data": {"currency": "usd"}}), HOOK_SECRET), 400),
    ];
    for (name, request, status) in cases {
        let response = stack.finalize.handle(&request).await;
        let (got, body) = testkit::answer(&response);
        assert_eq!(got, status, "{name}");
        assert!(body["error"]["message"].is_string(), "{name}: {body}");
    }
    assert_eq!(stack.available("MUG").await, Some(10));
    let idempotency = stack
        .dynamo
        .scan()
        .table_name(&stack.tables[2])
        .send()
        .await
        .unwrap()
        .count();
    assert_eq!(idempotency, 0, "nothing stored");
    let _ = &stack.customize;
}
