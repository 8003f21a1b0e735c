//! Stock under concurrency, and reservations given back when a checkout ends unpaid.

use super::*;

#[tokio::test]
async fn fifty_concurrent_finalizes_for_ten_in_stock_approve_exactly_ten() {
    let stack = Stack::start().await;
    let requests: Vec<_> = (0..50)
        .map(|i| {
            let body = json!({"type": "v1.delegated_checkout.finalize_checkout", "id": format!("req_race_{i}"), "livemode": false, "context": ACCOUNT,
                "data": {"currency": "usd", "checkout_session": format!("cs_test_race_{i}"),
                    "line_items_details": [{"id": "li_1", "sku_id": "MUG", "name": "Mug", "quantity": 1, "unit_amount": 1500, "amount_subtotal": 1500, "amount_total": 1500}],
                    "shipping_details": {"address": {"country": "US", "state": "CA"}}, "amount_total": 1500}});
            stack.signed("/stripe/hooks/finalize_checkout", &body, HOOK_SECRET)
        })
        .collect();
    let answers = futures::future::join_all(requests.iter().map(|r| {
        let f = stack.finalize.clone();
        async move { f.handle(r).await }
    }))
    .await;
    let mut approved = 0;
    for answer in answers {
        let (status, body) = testkit::answer(&answer);
        assert_eq!(status, 200);
        if body["manual_approval_details"]["type"] == "approved" {
            approved += 1;
        }
    }
    assert_eq!(approved, 10);
    assert_eq!(stack.available("MUG").await, Some(0));
}

/// Stock comes back when the session expires, once, and not into a newer feed's snapshot.
#[tokio::test]
async fn reservations_are_released_on_expiry_unless_a_newer_feed_superseded_them() {
    let stack = Stack::start().await;
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    let env = Env::from_map([
        ("ORDERS_TABLE", stack.tables[3].clone()),
        ("IDEMPOTENCY_TABLE", stack.tables[2].clone()),
        ("CATALOG_TABLE", stack.tables[1].clone()),
        ("STRIPE_WEBHOOK_SECRETS", TEST_WEBHOOK_SECRET.to_string()),
        ("STRIPE_SECRET_KEY", "sk_test_sim".to_string()),
        ("STRIPE_API_BASE", stack.sim.base_url()),
        ("DYNAMODB_ENDPOINT", endpoint),
    ]);
    let webhooks = webhooks::init(env).await.unwrap();
    let expire = |session: &str| {
        testkit::signed_post(
            "/stripe/webhooks",
            &expired_event(session),
            TEST_WEBHOOK_SECRET,
        )
    };

    let answer = stack
        .finalize
        .handle(&stack.signed(
            "/stripe/hooks/finalize_checkout",
            &finalize_request("req_r1", "cs_test_r1", 3),
            HOOK_SECRET,
        ))
        .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(stack.available("MUG").await, Some(7));
    assert_eq!(
        webhooks::handle(&webhooks, &expire("cs_test_r1"))
            .await
            .status(),
        200
    );
    assert_eq!(stack.available("MUG").await, Some(10), "released");
    // A redelivered or second expiry gives nothing back twice.
    let again = String::from_utf8(expired_event("cs_test_r1"))
        .unwrap()
        .replace("evt_expired_cs_test_r1", "evt_expired_again");
    let again = testkit::signed_post("/stripe/webhooks", again.as_bytes(), TEST_WEBHOOK_SECRET);
    assert_eq!(webhooks::handle(&webhooks, &again).await.status(), 200);
    assert_eq!(stack.available("MUG").await, Some(10));

    // Reserved, then a new inventory feed sets the stock: the expiry must not add to it.
    stack
        .finalize
        .handle(&stack.signed(
            "/stripe/hooks/finalize_checkout",
            &finalize_request("req_r2", "cs_test_r2", 4),
            HOOK_SECRET,
        ))
        .await;
    assert_eq!(stack.available("MUG").await, Some(6));
    let catalog = DynamoCatalog::new(stack.dynamo.clone(), &stack.tables[1]);
    catalog
        .apply_sku_changes(
            ACCOUNT,
            "import-2",
            1,
            &[SkuChange::Stock {
                sku: "MUG".into(),
                availability: shared::skus::Availability::InStock,
                quantity: Some(5),
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        webhooks::handle(&webhooks, &expire("cs_test_r2"))
            .await
            .status(),
        200
    );
    assert_eq!(
        stack.available("MUG").await,
        Some(5),
        "the newer feed's count stands"
    );
}
