//! The in-memory catalog the unit tests use must behave like the DynamoDB adapter: the same
//! sequence of slot writes, SKU changes, reservations and releases, run against both (the
//! latter on DynamoDB Local, from `make test`), must give the same observable results.

use shared::agreements::Agreement;
use shared::imports::{Feed, FeedSlot};
use shared::money::parse_price;
use shared::skus::{Availability, SkuChange, SkuRecord};
use shared::store::dynamo::{DynamoAgreements, DynamoCatalog};
use shared::store::memory::{MemoryAgreements, MemoryCatalog};
use shared::store::{
    AgreementStore, FeedSlots, Reservation, SkuRecords, StockLine, StockReservations,
};

const ACCOUNT: &str = "acct_1Parity";

fn record(sku: &str, quantity: i64, source: &str) -> SkuChange {
    SkuChange::Replace(SkuRecord {
        account_id: ACCOUNT.into(),
        sku: sku.into(),
        title: None,
        availability: Availability::InStock,
        quantity: Some(quantity),
        available: Some(quantity),
        price: parse_price("5.00 USD"),
        shipping: vec![],
        shipping_cost_basis: None,
        source_import: source.into(),
        updated_at: 1,
    })
}

fn line(sku: &str, quantity: i64, source: &str) -> StockLine {
    StockLine {
        sku: sku.into(),
        quantity,
        source_import: source.into(),
    }
}

/// Runs one scenario and returns what an observer sees after each step.
async fn catalog_trace<C: FeedSlots + SkuRecords + StockReservations>(store: &C) -> Vec<String> {
    let mut trace = Vec::new();
    let available = |sku: &'static str| async move {
        store
            .sku(ACCOUNT, sku)
            .await
            .unwrap()
            .and_then(|r| r.available)
    };

    // Slots: a first write needs no slot; a second writer with a stale version loses.
    let slot = FeedSlot::new(ACCOUNT, Feed::Product);
    trace.push(format!(
        "first save {}",
        store.save_slot(&slot).await.unwrap()
    ));
    trace.push(format!(
        "stale save {}",
        store.save_slot(&slot).await.unwrap()
    ));
    let mut read = store.slot(ACCOUNT, Feed::Product).await.unwrap().unwrap();
    trace.push(format!("version {}", read.version));
    read.in_flight = Some("import-1".into());
    trace.push(format!(
        "fresh save {}",
        store.save_slot(&read).await.unwrap()
    ));
    trace.push(format!("active {:?}", store.active_slots().await.unwrap()));

    // Stock: all lines or none; once per reservation id; released once, into its record.
    store
        .apply_sku_changes(
            ACCOUNT,
            "import-1",
            1,
            &[record("A", 3, "import-1"), record("B", 1, "import-1")],
        )
        .await
        .unwrap();
    let both = [line("A", 2, "import-1"), line("B", 2, "import-1")];
    trace.push(format!(
        "short {:?}",
        store.reserve(ACCOUNT, "r1", &both).await.unwrap()
    ));
    trace.push(format!(
        "after short A={:?} B={:?}",
        available("A").await,
        available("B").await
    ));
    let fits = [line("A", 2, "import-1"), line("B", 1, "import-1")];
    trace.push(format!(
        "reserve {:?}",
        store.reserve(ACCOUNT, "r1", &fits).await.unwrap()
    ));
    trace.push(format!(
        "again {:?}",
        store.reserve(ACCOUNT, "r1", &fits).await.unwrap()
    ));
    trace.push(format!(
        "held A={:?} B={:?}",
        available("A").await,
        available("B").await
    ));
    trace.push(format!(
        "release {}",
        store.release(ACCOUNT, "r1").await.unwrap()
    ));
    trace.push(format!(
        "release again {}",
        store.release(ACCOUNT, "r1").await.unwrap()
    ));
    trace.push(format!(
        "returned A={:?} B={:?}",
        available("A").await,
        available("B").await
    ));
    trace.push(format!(
        "unknown release {}",
        store.release(ACCOUNT, "nope").await.unwrap()
    ));

    // A newer feed supersedes held stock: the release gives nothing back into it.
    trace.push(format!(
        "reserve r2 {:?}",
        store
            .reserve(ACCOUNT, "r2", &[line("A", 1, "import-1")])
            .await
            .unwrap()
    ));
    store
        .apply_sku_changes(
            ACCOUNT,
            "import-2",
            2,
            &[SkuChange::Stock {
                sku: "A".into(),
                availability: Availability::InStock,
                quantity: Some(10),
            }],
        )
        .await
        .unwrap();
    trace.push(format!(
        "release r2 {}",
        store.release(ACCOUNT, "r2").await.unwrap()
    ));
    trace.push(format!("newer feed A={:?}", available("A").await));
    // A reservation released may be taken again by the checkout's next finalize.
    trace.push(format!(
        "retake r1 {:?}",
        store
            .reserve(ACCOUNT, "r1", &[line("B", 1, "import-1")])
            .await
            .unwrap()
    ));
    trace.push(format!(
        "missing sku {:?}",
        store
            .reserve(ACCOUNT, "r3", &[line("Z", 1, "import-1")])
            .await
            .unwrap()
    ));
    trace
}

#[tokio::test]
async fn the_in_memory_catalog_behaves_like_dynamodb() {
    let client = testkit::dynamo().await;
    let table = testkit::fresh_table(&client, testkit::CATALOG).await;
    let dynamo = catalog_trace(&DynamoCatalog::new(client, table)).await;
    let memory = catalog_trace(&MemoryCatalog::default()).await;
    assert_eq!(memory, dynamo);
    // And the behaviour itself is the one the hooks rely on.
    let expect = |step: &str| {
        assert!(
            dynamo.iter().any(|s| s == step),
            "{step} not in {dynamo:#?}"
        )
    };
    expect("stale save false");
    expect(&format!(
        "short {:?}",
        Reservation::Short { sku: "B".into() }
    ));
    expect("after short A=Some(3) B=Some(1)");
    expect("again AlreadyReserved");
    expect("held A=Some(1) B=Some(0)");
    expect("release again false");
    expect("returned A=Some(3) B=Some(1)");
    expect("newer feed A=Some(10)");
    expect("retake r1 Reserved");
}

async fn agreements_trace<S: AgreementStore>(store: &S) -> Vec<String> {
    let agreement = |status: &str, transitions: serde_json::Value| {
        Agreement::from_stripe(
            ACCOUNT,
            &serde_json::json!({"id": "orca_1", "status": status, "status_transitions": transitions}),
        )
        .unwrap()
    };
    let mut trace = Vec::new();
    for (status, transitions) in [
        (
            "partially_confirmed",
            serde_json::json!({"orchestrator_confirmed_at": "a"}),
        ),
        ("initiated", serde_json::json!({})),
        (
            "terminated",
            serde_json::json!({"orchestrator_confirmed_at": "a", "terminated_at": "c"}),
        ),
        (
            "confirmed",
            serde_json::json!({"orchestrator_confirmed_at": "a", "seller_confirmed_at": "b"}),
        ),
    ] {
        let applied = store
            .put_if_newer(&agreement(status, transitions))
            .await
            .unwrap();
        let stored = store
            .agreement(ACCOUNT, "orca_1")
            .await
            .unwrap()
            .unwrap()
            .status;
        trace.push(format!("{status}: {applied:?}, stored {stored}"));
    }
    trace
}

#[tokio::test]
async fn in_memory_agreements_behave_like_dynamodb() {
    let client = testkit::dynamo().await;
    let table = testkit::fresh_table(&client, testkit::AGREEMENTS).await;
    let dynamo = agreements_trace(&DynamoAgreements::new(client, table)).await;
    assert_eq!(agreements_trace(&MemoryAgreements::default()).await, dynamo);
    assert_eq!(
        dynamo.last().unwrap(),
        "confirmed: Stale, stored terminated"
    );
}
