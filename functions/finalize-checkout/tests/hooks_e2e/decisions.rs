//! What the hooks decide for a real checkout: shipping, taxes, approval and fee, every decline reason, agreements.

use super::*;

#[tokio::test]
async fn a_purchase_gets_shipping_taxes_approval_and_fee_and_becomes_an_order() {
    let stack = Stack::start().await;
    let (status, created) = stack.purchase(json!({})).await;
    assert_eq!(status, 200, "{created}");
    let session = &created["checkout_session"];
    // Cheapest rule option (Ground, 7.00); 8.25% CA tax on 30.00 = 2.48.
    assert_eq!(
        session["total_details"]["amount_shipping"], 700,
        "{session}"
    );
    assert_eq!(session["total_details"]["amount_tax"], 248);
    assert_eq!(session["amount_total"], 3000 + 248 + 700);
    let fee = session["payment_intent"]["application_fee_amount"]
        .as_i64()
        .unwrap();
    assert_eq!(
        fee,
        (3948 * 250 + 5_000) / 10_000 + 30,
        "2.5% + 0.30 of the total"
    );
    let calls = stack.hook_calls().await;
    let customize = calls
        .iter()
        .find(|c| c["hook"] == "customize_checkout")
        .expect("customize called");
    let options = customize["response"]["shipping_options"]
        .as_array()
        .unwrap();
    assert_eq!(options.len(), 2);
    assert_eq!(
        options[1]["shipping_rate_data"]["delivery_estimate"]["maximum"]["value"],
        2
    );
    assert_eq!(stack.available("MUG").await, Some(8), "2 of 10 reserved");

    let session_id = session["id"].as_str().unwrap();
    let order = DynamoOrders::new(stack.dynamo.clone(), &stack.tables[3])
        .get(ACCOUNT, session_id)
        .await
        .unwrap()
        .expect("stored order");
    assert_eq!(order.amount_total, Some(3948));
    assert_eq!(order.lines[0].taxes[0].amount, 248);
}

#[tokio::test]
async fn every_decline_reason_is_reached_with_a_readable_reason() {
    let stack = Stack::start().await;
    let cases = [
        (json!({"sku": "UNKNOWN"}), "not sold"),
        (json!({"sku": "GONE"}), "out of stock"),
        (json!({"quantity": 11}), "Only 10"),
        (json!({"card": {"funding": "prepaid"}}), "prepaid"),
        (
            json!({"shipping_address": {"line1": "1 Rue", "city": "Paris", "postal_code": "75001", "country": "FR"}}),
            "does not ship to FR",
        ),
        (
            json!({"quantity": 9, "unit_amount": 20_000}),
            "above what this store accepts",
        ),
    ];
    for (extra, expected) in cases {
        let (status, answer) = stack.purchase(extra.clone()).await;
        assert_eq!(status, 402, "{extra}: {answer}");
        let reason = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(reason.contains(expected), "{extra}: {reason}");
    }
    assert_eq!(
        stack.available("MUG").await,
        Some(10),
        "declines reserve nothing"
    );
    // A preorder sells without counting stock.
    let (status, answer) = stack.purchase(json!({"sku": "PRE", "quantity": 50})).await;
    assert_eq!(status, 200, "{answer}");
    // A paused merchant declines everything.
    let mut merchant = Merchant::new(ACCOUNT);
    merchant.checkout = CheckoutSettings {
        paused: true,
        ..settings()
    };
    DynamoMerchants::new(stack.dynamo.clone(), &stack.tables[0])
        .put_merchant(&merchant)
        .await
        .unwrap();
    let paused = HookFunction::init(
        Hook::Finalize,
        "/stripe/hooks/finalize_checkout",
        Env::from_map([
            ("MERCHANTS_TABLE", stack.tables[0].clone()),
            ("CATALOG_TABLE", stack.tables[1].clone()),
            ("IDEMPOTENCY_TABLE", stack.tables[2].clone()),
            ("STRIPE_HOOK_SECRETS", HOOK_SECRET.to_string()),
            (
                "DYNAMODB_ENDPOINT",
                std::env::var("DYNAMODB_ENDPOINT").unwrap(),
            ),
        ]),
    )
    .await
    .unwrap();
    let request = json!({"type": "v1.delegated_checkout.finalize_checkout", "id": "req_paused", "livemode": false, "context": ACCOUNT,
        "data": {"currency": "usd", "line_items_details": [{"id": "li_1", "sku_id": "MUG", "quantity": 1, "unit_amount": 1500, "amount_total": 1500}], "amount_total": 1500}});
    let response = paused
        .handle(&stack.signed("/stripe/hooks/finalize_checkout", &request, HOOK_SECRET))
        .await;
    let (_, body) = testkit::answer(&response);
    assert_eq!(
        body["manual_approval_details"]["declined"]["reason"],
        "This store is not taking orders right now."
    );
}

/// A merchant that sells only through agents it has a confirmed agreement with.
#[tokio::test]
async fn agents_without_a_confirmed_agreement_are_declined_when_the_request_names_them() {
    use shared::agreements::Agreement;
    use shared::store::AgreementStore;
    use shared::store::dynamo::DynamoAgreements;

    let stack = Stack::start().await;
    let agreements_table = testkit::fresh_table(&stack.dynamo, testkit::AGREEMENTS).await;
    let agreements = DynamoAgreements::new(stack.dynamo.clone(), &agreements_table);
    let confirmed = Agreement::from_stripe(ACCOUNT, &json!({"id": "orca_1", "status": "confirmed",
        "orchestrator_details": {"name": "ChatGPT", "network_business_profile": "nbp_openai"},
        "status_transitions": {"orchestrator_confirmed_at": "2026-11-28T10:00:00Z", "seller_confirmed_at": "2026-11-28T10:01:00Z"}})).unwrap();
    agreements.put_if_newer(&confirmed).await.unwrap();
    let terminated = Agreement::from_stripe(ACCOUNT, &json!({"id": "orca_2", "status": "terminated",
        "orchestrator_details": {"name": "Other Agent", "network_business_profile": "nbp_other"}, "status_transitions": {"terminated_at": "2026-11-28T11:00:00Z"}})).unwrap();
    agreements.put_if_newer(&terminated).await.unwrap();
    let mut merchant = Merchant::new(ACCOUNT);
    merchant.checkout = CheckoutSettings {
        require_agreement: shared::merchants::AgreementRequirement::WhenKnown,
        ..settings()
    };
    DynamoMerchants::new(stack.dynamo.clone(), &stack.tables[0])
        .put_merchant(&merchant)
        .await
        .unwrap();
    let finalize = HookFunction::init(
        Hook::Finalize,
        "/stripe/hooks/finalize_checkout",
        Env::from_map([
            ("MERCHANTS_TABLE", stack.tables[0].clone()),
            ("CATALOG_TABLE", stack.tables[1].clone()),
            ("IDEMPOTENCY_TABLE", stack.tables[2].clone()),
            ("AGREEMENTS_TABLE", agreements_table),
            ("STRIPE_HOOK_SECRETS", HOOK_SECRET.to_string()),
            (
                "DYNAMODB_ENDPOINT",
                std::env::var("DYNAMODB_ENDPOINT").unwrap(),
            ),
        ]),
    )
    .await
    .unwrap();
    let decision = |id: &str, agent: Value| {
        let mut request = finalize_request(id, &format!("cs_test_{id}"), 1);
        if !agent.is_null() {
            request["data"]["agent_details"] = agent;
        }
        stack.signed("/stripe/hooks/finalize_checkout", &request, HOOK_SECRET)
    };
    let answer = |response: http::Response<String>| -> Value { testkit::answer(&response).1 };
    let ok = answer(
        finalize
            .handle(&decision(
                "agr_ok",
                json!({"name": "ChatGPT", "network_business_profile": "nbp_openai"}),
            ))
            .await,
    );
    assert_eq!(ok["manual_approval_details"]["type"], "approved", "{ok}");
    let ended = answer(
        finalize
            .handle(&decision(
                "agr_ended",
                json!({"network_business_profile": "nbp_other"}),
            ))
            .await,
    );
    assert_eq!(
        ended["manual_approval_details"]["declined"]["reason"],
        "This store does not sell through this agent."
    );
    let unknown = answer(
        finalize
            .handle(&decision("agr_unknown", json!({"name": "Stranger Bot"})))
            .await,
    );
    assert_eq!(unknown["manual_approval_details"]["type"], "declined");
    // A request that does not say which agent buys: `when_known` approves it (and logs so).
    let anonymous = answer(finalize.handle(&decision("agr_anon", Value::Null)).await);
    assert_eq!(
        anonymous["manual_approval_details"]["type"], "approved",
        "{anonymous}"
    );
}
