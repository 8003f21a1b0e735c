//! The DynamoDB adapters against DynamoDB Local (started by `make test`): the conditional
//! writes must behave exactly like the in-memory fakes the unit tests rely on.

use aws_sdk_dynamodb::Client;
use shared::orders::{DisputeFact, Order, PaymentFact, RefundFact};
use shared::store::dynamo::{DynamoIdempotency, DynamoOrders};
use shared::store::{Applied, Claim, IdempotencyStore, OrderStore};
use shared::stripe::objects::{CheckoutSession, Dispute};

/// A fresh table in DynamoDB Local, as `template.yaml` declares `logical_id`.
async fn table(logical_id: &str) -> (Client, String) {
    let client = testkit::dynamo().await;
    let name = testkit::fresh_table(&client, logical_id).await;
    (client, name)
}

fn fixture_order(account: &str) -> Order {
    let session: CheckoutSession =
        serde_json::from_str(include_str!("fixtures/checkout_session_expanded.json")).unwrap();
    Order::from_session(account, &session).unwrap()
}

fn dispute(status: &str, created: i64) -> DisputeFact {
    let d = Dispute {
        id: "dp_1".into(),
        status: Some(status.into()),
        reason: Some("fraudulent".into()),
        amount: Some(3748),
        currency: Some("usd".into()),
        charge: None,
        payment_intent: None,
    };
    DisputeFact::from_event(&d, created, &format!("evt_{status}"))
}

#[tokio::test]
async fn orders_insert_once_and_round_trip() {
    let (client, name) = table(testkit::ORDERS).await;
    let store = DynamoOrders::new(client, name);
    let order = fixture_order("acct_1A");
    assert!(store.insert_if_absent(&order).await.unwrap());
    assert!(
        !store.insert_if_absent(&order).await.unwrap(),
        "second insert must not overwrite"
    );
    let stored = store
        .get("acct_1A", &order.checkout_session_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, order);
    assert_eq!(store.list("acct_1A", 10).await.unwrap().len(), 1);
    assert!(store.list("acct_1B", 10).await.unwrap().is_empty());
}

#[tokio::test]
async fn payment_intent_index_respects_tenancy() {
    let (client, name) = table(testkit::ORDERS).await;
    let store = DynamoOrders::new(client, name);
    let order = fixture_order("acct_1A");
    store.insert_if_absent(&order).await.unwrap();
    let pi = order.payment_intent_id.clone().unwrap();
    assert_eq!(
        store.find_by_payment_intent("acct_1A", &pi).await.unwrap(),
        Some(order.checkout_session_id.clone())
    );
    assert_eq!(
        store.find_by_payment_intent("acct_1B", &pi).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn state_moves_only_forward_and_never_creates_orders() {
    let (client, name) = table(testkit::ORDERS).await;
    let store = DynamoOrders::new(client, name);
    let order = fixture_order("acct_1A");
    let session = order.checkout_session_id.clone();

    let succeeded = PaymentFact::new("succeeded", 100, Some("evt_ok"));
    assert_eq!(
        store
            .apply_payment("acct_1A", &session, &succeeded)
            .await
            .unwrap(),
        Applied::Missing
    );
    assert!(
        store.get("acct_1A", &session).await.unwrap().is_none(),
        "an update must not create a partial order"
    );

    store.insert_if_absent(&order).await.unwrap();
    assert_eq!(
        store
            .apply_payment("acct_1A", &session, &succeeded)
            .await
            .unwrap(),
        Applied::Updated
    );
    assert_eq!(
        store
            .apply_payment("acct_1A", &session, &succeeded)
            .await
            .unwrap(),
        Applied::Stale
    );
    let late_failure = PaymentFact::new("failed", 200, Some("evt_late"));
    assert_eq!(
        store
            .apply_payment("acct_1A", &session, &late_failure)
            .await
            .unwrap(),
        Applied::Stale
    );

    let partial = RefundFact {
        amount_refunded: 1000,
        status: "partial".into(),
        event_id: Some("evt_r1".into()),
    };
    let full = RefundFact {
        amount_refunded: 3748,
        status: "full".into(),
        event_id: Some("evt_r2".into()),
    };
    assert_eq!(
        store
            .apply_refund("acct_1A", &session, &full)
            .await
            .unwrap(),
        Applied::Updated
    );
    assert_eq!(
        store
            .apply_refund("acct_1A", &session, &partial)
            .await
            .unwrap(),
        Applied::Stale
    );

    assert_eq!(
        store
            .apply_dispute("acct_1A", &session, &dispute("lost", 50))
            .await
            .unwrap(),
        Applied::Updated
    );
    assert_eq!(
        store
            .apply_dispute("acct_1A", &session, &dispute("under_review", 90))
            .await
            .unwrap(),
        Applied::Stale
    );

    let stored = store.get("acct_1A", &session).await.unwrap().unwrap();
    assert_eq!(stored.payment.event_id.as_deref(), Some("evt_ok"));
    assert_eq!(stored.refund.amount_refunded, 3748);
    assert_eq!(stored.disputes["dp_1"].status, "lost");
}

#[tokio::test]
async fn idempotency_claims_follow_the_powertools_design() {
    let (client, name) = table(testkit::IDEMPOTENCY).await;
    let store = DynamoIdempotency::new(client, name, 3600, 60);
    let t0 = 1_800_000_000_000i64;

    assert_eq!(store.claim("k1", None, t0).await.unwrap(), Claim::Acquired);
    assert_eq!(
        store.claim("k1", None, t0 + 1_000).await.unwrap(),
        Claim::InProgress
    );
    // A crashed invocation's claim expires: the next delivery may proceed.
    assert_eq!(
        store.claim("k1", None, t0 + 61_000).await.unwrap(),
        Claim::Acquired
    );
    store
        .complete("k1", r#"{"ok":true}"#, t0 + 62_000)
        .await
        .unwrap();
    assert_eq!(
        store.claim("k1", None, t0 + 63_000).await.unwrap(),
        Claim::Completed(r#"{"ok":true}"#.into())
    );
    // Past the TTL the record counts as absent even before DynamoDB deletes it.
    assert_eq!(
        store
            .claim("k1", None, t0 + 62_000 + 3_601_000)
            .await
            .unwrap(),
        Claim::Acquired
    );

    // Released claims can be taken again at once; completed ones are not released.
    assert_eq!(store.claim("k2", None, t0).await.unwrap(), Claim::Acquired);
    store.release("k2").await.unwrap();
    assert_eq!(store.claim("k2", None, t0).await.unwrap(), Claim::Acquired);
    store.complete("k2", "done", t0).await.unwrap();
    store.release("k2").await.unwrap();
    assert_eq!(
        store.claim("k2", None, t0).await.unwrap(),
        Claim::Completed("done".into())
    );

    // Same key, other payload.
    assert_eq!(
        store.claim("k3", Some("hash-a"), t0).await.unwrap(),
        Claim::Acquired
    );
    store.complete("k3", "answer-a", t0).await.unwrap();
    assert_eq!(
        store.claim("k3", Some("hash-b"), t0).await.unwrap(),
        Claim::PayloadMismatch
    );
    assert_eq!(
        store.claim("k3", Some("hash-a"), t0).await.unwrap(),
        Claim::Completed("answer-a".into())
    );
}

#[tokio::test]
async fn concurrent_claims_have_exactly_one_winner() {
    let (client, name) = table(testkit::IDEMPOTENCY).await;
    let store = std::sync::Arc::new(DynamoIdempotency::new(client, name, 3600, 60));
    let t0 = 1_800_000_000_000i64;
    let claims = (0..20).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.claim("race", None, t0).await.unwrap() })
    });
    let results = futures::future::join_all(claims).await;
    let winners = results
        .iter()
        .filter(|r| matches!(r, Ok(Claim::Acquired)))
        .count();
    assert_eq!(winners, 1);
}

#[tokio::test]
async fn putting_a_merchant_again_keeps_the_reconcilers_progress() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use shared::merchants::Merchant;
    use shared::store::dynamo::DynamoMerchants;
    use shared::store::{MerchantAdmin, MerchantDirectory};

    let (client, name) = table(testkit::MERCHANTS).await;
    let merchants = DynamoMerchants::new(client.clone(), &name);
    let mut merchant = Merchant::new("acct_1Kept");
    merchants.put_merchant(&merchant).await.unwrap();
    // The reconciler's own write on the same item.
    client
        .update_item()
        .table_name(&name)
        .key("account_id", AttributeValue::S("acct_1Kept".into()))
        .update_expression("SET #r = :r")
        .expression_attribute_names("#r", "reconcile")
        .expression_attribute_values(
            ":r",
            AttributeValue::M([("watermark".to_string(), AttributeValue::N("1700".into()))].into()),
        )
        .send()
        .await
        .unwrap();

    merchant.checkout.paused = true;
    merchants.put_merchant(&merchant).await.unwrap();
    let item = client
        .get_item()
        .table_name(&name)
        .key("account_id", AttributeValue::S("acct_1Kept".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    assert_eq!(
        item["reconcile"].as_m().unwrap()["watermark"],
        AttributeValue::N("1700".into()),
        "the reconciler's watermark survives"
    );
    let stored = merchants.merchant("acct_1Kept").await.unwrap().unwrap();
    assert!(stored.checkout.paused, "the new settings are stored");
}
