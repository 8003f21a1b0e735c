//! Events into orders: every field, duplicates and reordering, real deliveries from stripe-sim.

use super::*;

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
    // (503: a retry fixes it) while another copy was in flight; none failed.
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
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

/// An expanded `line_items` holds only its first page (docs/stripe.md §6.3): a long order is
/// read to its last line through the session's line-item list, never dropped.
#[tokio::test]
async fn a_250_line_purchase_becomes_one_order_with_250_lines() {
    let stack = Stack::start().await;
    let account = "acct_1LongOrder";
    let lines: Vec<Value> = (0..250)
        .map(|i| {
            json!({"sku": format!("SKU-{i:03}"), "quantity": 1 + i % 3, "unit_amount": 100 + i,
                   "product": {"name": format!("Item {i}"), "description": format!("Item number {i}")},
                   "tax": {"percentage": 8.25, "tax_type": "sales_tax", "display_name": "Sales tax", "inclusive": false}})
        })
        .collect();
    let created = stack
        .control(
            "/_sim/agentic_checkouts",
            json!({"account": account, "line_items": lines, "currency": "usd", "deliver": false}),
        )
        .await;
    let session_id = created["checkout_session"]["id"].as_str().unwrap();
    // What a Stripe client sees: the expanded list stops after its first page.
    let seen = stack.session_from_stripe(account, session_id).await;
    assert_eq!(seen["line_items"]["has_more"], true);
    assert_eq!(seen["line_items"]["data"].as_array().unwrap().len(), 10);

    let events = stack
        .http
        .get(format!(
            "{}/_sim/events?type=checkout.session.completed&account={account}",
            stack.sim.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let completed = events
        .as_array()
        .and_then(|all| all.last())
        .map(|record| record["event"].to_string())
        .expect("a completed event");
    let (status, body) = stack
        .deliver(&testkit::signed_post(
            "/stripe/webhooks",
            completed.as_bytes(),
            TEST_WEBHOOK_SECRET,
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"]["action"], "order_created");
    let order = stack
        .orders()
        .get(account, session_id)
        .await
        .unwrap()
        .expect("the order is stored");
    assert_eq!(order.lines.len(), 250);
    let skus: Vec<&str> = order
        .lines
        .iter()
        .filter_map(|l| l.sku.as_deref())
        .collect();
    let expected: Vec<String> = (0..250).map(|i| format!("SKU-{i:03}")).collect();
    assert_eq!(skus, expected, "every line, once, in Stripe's order");
    let last = &order.lines[249];
    assert_eq!(
        (
            last.quantity,
            last.unit_amount,
            last.description.as_deref(),
            last.taxes.len()
        ),
        (1, Some(349), Some("Item number 249"), 1)
    );
    let quantity: i64 = order.lines.iter().map(|l| l.quantity).sum();
    assert_eq!(quantity, (0..250).map(|i| 1 + i % 3).sum::<i64>());
}
