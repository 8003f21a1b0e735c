//! Stock under concurrency, and reservations given back when a checkout ends unpaid.

use super::*;
use shared::store::StockHolds;

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

/// When finalize names its session (stripe-sim's `finalize_sends_session`), that session's
/// expiry gives the held stock back at once, once; a new feed never takes held stock.
#[tokio::test]
async fn a_hold_naming_its_session_comes_back_when_the_session_expires_and_feeds_keep_it() {
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

    // Held, then a new inventory feed sets the stock: what is held stays out of it until
    // the session expires.
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
        mug(&stack).await,
        (Some(1), 4),
        "5 in the feed, 4 of them held"
    );
    assert_eq!(
        webhooks::handle(&webhooks, &expire("cs_test_r2"))
            .await
            .status(),
        200
    );
    assert_eq!(
        mug(&stack).await,
        (Some(5), 0),
        "the newer feed's count stands once nothing is held"
    );
}

/// What the catalog table holds for MUG: (available, held).
async fn mug(stack: &Stack) -> (Option<i64>, i64) {
    let record = DynamoCatalog::new(stack.dynamo.clone(), &stack.tables[1])
        .sku(ACCOUNT, "MUG")
        .await
        .unwrap()
        .expect("MUG");
    (record.available, record.held.unwrap_or(0))
}

fn half_an_hour_from_now() -> i64 {
    (testkit::now_seconds() + 31 * 60) * 1000
}

/// Stripe's finalize names no session (stripe-sim's default, as documented): the order that
/// completes converts the hold by its fingerprint, and the stock stays sold for good.
#[tokio::test]
async fn an_approved_checkout_that_completes_keeps_its_stock_sold() {
    let stack = Stack::start().await;
    let (status, created) = stack.purchase(json!({})).await;
    assert_eq!(status, 200, "{created}");
    let finalize = stack
        .hook_calls()
        .await
        .into_iter()
        .find(|c| c["hook"] == "finalize_checkout")
        .expect("finalize was called");
    assert!(
        finalize["request"]["data"]
            .get("checkout_session")
            .is_none(),
        "the documented payload: no session"
    );
    // Sold: out of available, no longer held, and no sweep gives it back.
    assert_eq!(mug(&stack).await, (Some(8), 0));
    let catalog = DynamoCatalog::new(stack.dynamo.clone(), &stack.tables[1]);
    assert_eq!(
        catalog
            .expire_due(half_an_hour_from_now(), 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(mug(&stack).await, (Some(8), 0));
}

/// No order comes: after the hold's time the schedule gives the stock back, once.
#[tokio::test]
async fn an_approved_checkout_without_an_order_gives_its_stock_back_once() {
    let stack = Stack::start().await;
    let mut request = finalize_request("req_lonely", "unused", 3);
    request["data"]
        .as_object_mut()
        .unwrap()
        .remove("checkout_session");
    let answer = stack
        .finalize
        .handle(&stack.signed("/stripe/hooks/finalize_checkout", &request, HOOK_SECRET))
        .await;
    assert_eq!(
        testkit::answer(&answer).1["manual_approval_details"]["type"],
        "approved"
    );
    assert_eq!(mug(&stack).await, (Some(7), 3));
    let catalog = DynamoCatalog::new(stack.dynamo.clone(), &stack.tables[1]);
    assert_eq!(
        catalog
            .expire_due(testkit::now_seconds() * 1000, 100)
            .await
            .unwrap(),
        0,
        "not due yet"
    );
    assert_eq!(
        catalog
            .expire_due(half_an_hour_from_now(), 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(mug(&stack).await, (Some(10), 0));
    assert_eq!(
        catalog
            .expire_due(half_an_hour_from_now(), 100)
            .await
            .unwrap(),
        0
    );
    assert_eq!(mug(&stack).await, (Some(10), 0), "given back once");
}

/// Two identical carts are approved and one completes: one hold is converted (the oldest),
/// the other runs out and gives its stock back.
#[tokio::test]
async fn of_two_identical_carts_the_one_that_completes_is_sold_and_the_other_expires() {
    let stack = Stack::start().await;
    // The agent's purchase: hooks called, the session paid, the webhook held back.
    let (status, created) = stack
        .purchase(json!({"deliver": false, "wait_for_delivery": false}))
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(mug(&stack).await, (Some(8), 2));
    // Another buyer's identical cart, approved a moment later.
    let finalize = stack
        .hook_calls()
        .await
        .into_iter()
        .find(|c| c["hook"] == "finalize_checkout")
        .unwrap();
    let mut twin = finalize["request"].clone();
    twin["id"] = json!("req_twin_cart");
    let answer = stack
        .finalize
        .handle(&stack.signed("/stripe/hooks/finalize_checkout", &twin, HOOK_SECRET))
        .await;
    assert_eq!(
        testkit::answer(&answer).1["manual_approval_details"]["type"],
        "approved"
    );
    assert_eq!(mug(&stack).await, (Some(6), 4));
    // The first checkout's order arrives: one hold is converted.
    let session = created["checkout_session"]["id"].as_str().unwrap();
    let (status, _) = stack
        .control(
            &format!(
                "/_sim/events/{}/resend",
                completed_event(&stack, session).await
            ),
            json!({"wait_for_delivery": true}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        mug(&stack).await,
        (Some(6), 2),
        "two sold for good, two still held"
    );
    let catalog = DynamoCatalog::new(stack.dynamo.clone(), &stack.tables[1]);
    assert_eq!(
        catalog
            .expire_due(half_an_hour_from_now(), 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(mug(&stack).await, (Some(8), 0), "the twin's stock is back");
}

async fn completed_event(stack: &Stack, session: &str) -> String {
    let events: Value = stack
        .http
        .get(format!(
            "{}/_sim/events?type=checkout.session.completed&account={ACCOUNT}",
            stack.sim.base_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"]["data"]["object"]["id"] == session)
        .and_then(|e| e["event"]["id"].as_str())
        .expect("the completed event")
        .to_string()
}
