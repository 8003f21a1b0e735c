//! The in-memory catalog the unit tests use must behave like the DynamoDB adapter: the same
//! sequence of slot writes, SKU changes, reservations and releases, run against both (the
//! latter on DynamoDB Local, from `make test`), must give the same observable results.

use shared::agreements::Agreement;
use shared::holds::{Hold, HoldLine, HoldStatus};
use shared::imports::{Feed, FeedSlot};
use shared::money::parse_price;
use shared::skus::{Availability, SkuChange, SkuRecord};
use shared::store::dynamo::{DynamoAgreements, DynamoCatalog};
use shared::store::memory::{MemoryAgreements, MemoryCatalog};
use shared::store::{AgreementStore, FeedSlots, Placement, SkuRecords, StockHolds};

const ACCOUNT: &str = "acct_1Parity";

fn record(sku: &str, quantity: i64, source: &str) -> SkuChange {
    SkuChange::Replace(SkuRecord {
        account_id: ACCOUNT.into(),
        sku: sku.into(),
        title: None,
        availability: Availability::InStock,
        quantity: Some(quantity),
        available: Some(quantity),
        held: None,
        price: parse_price("5.00 USD"),
        shipping: vec![],
        shipping_cost_basis: None,
        source_import: source.into(),
        updated_at: 1,
    })
}

fn hold(
    id: &str,
    fingerprint: &str,
    lines: &[(&str, i64)],
    created_at: i64,
    session: Option<&str>,
) -> Hold {
    Hold {
        account_id: ACCOUNT.into(),
        hold_id: id.into(),
        fingerprint: fingerprint.into(),
        session_id: session.map(str::to_string),
        lines: lines
            .iter()
            .map(|(sku, quantity)| HoldLine {
                sku: sku.to_string(),
                quantity: *quantity,
            })
            .collect(),
        status: HoldStatus::Open,
        created_at,
        expires_at: created_at + 100,
        order_session: None,
    }
}

/// Runs one scenario and returns what an observer sees after each step.
async fn catalog_trace<C: FeedSlots + SkuRecords + StockHolds>(store: &C) -> Vec<String> {
    let mut trace = Vec::new();
    let stock = |sku: &'static str| async move {
        store
            .sku(ACCOUNT, sku)
            .await
            .unwrap()
            .map(|r| (r.available, r.held.unwrap_or(0)))
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

    // Holds take every line or none, once per request.
    let feed = [record("A", 3, "import-1"), record("B", 1, "import-1")];
    store
        .apply_sku_changes(ACCOUNT, "import-1", 1, &feed)
        .await
        .unwrap();
    let too_much = hold("h1", "fp1", &[("A", 2), ("B", 2)], 10, None);
    trace.push(format!("short {:?}", store.place(&too_much).await.unwrap()));
    trace.push(format!(
        "after short A={:?} B={:?}",
        stock("A").await,
        stock("B").await
    ));
    let h1 = hold("h1", "fp1", &[("A", 2), ("B", 1)], 10, None);
    trace.push(format!("place {:?}", store.place(&h1).await.unwrap()));
    trace.push(format!("again {:?}", store.place(&h1).await.unwrap()));
    trace.push(format!(
        "held A={:?} B={:?}",
        stock("A").await,
        stock("B").await
    ));

    // Feeds, the same one again or a new one, never give away held stock.
    store
        .apply_sku_changes(ACCOUNT, "import-1", 2, &feed[..1])
        .await
        .unwrap();
    trace.push(format!("feed again A={:?}", stock("A").await));
    let newer = SkuChange::Stock {
        sku: "A".into(),
        availability: Availability::InStock,
        quantity: Some(10),
    };
    store
        .apply_sku_changes(ACCOUNT, "import-2", 3, &[newer])
        .await
        .unwrap();
    trace.push(format!("newer feed A={:?}", stock("A").await));

    // The order converts its hold once, however often it comes.
    trace.push(format!(
        "convert {:?}",
        store.convert(ACCOUNT, "fp1", "cs_1").await.unwrap()
    ));
    trace.push(format!(
        "convert again {:?}",
        store.convert(ACCOUNT, "fp1", "cs_1").await.unwrap()
    ));
    trace.push(format!(
        "sold A={:?} B={:?}",
        stock("A").await,
        stock("B").await
    ));

    // Two identical carts: the order converts the older hold; the other runs out, once.
    store
        .place(&hold("h2", "fp2", &[("A", 1)], 20, None))
        .await
        .unwrap();
    store
        .place(&hold("h3", "fp2", &[("A", 1)], 30, None))
        .await
        .unwrap();
    trace.push(format!("two held A={:?}", stock("A").await));
    trace.push(format!(
        "convert twin {:?}",
        store.convert(ACCOUNT, "fp2", "cs_2").await.unwrap()
    ));
    trace.push(format!(
        "not yet due {}",
        store.expire_due(125, 10).await.unwrap()
    ));
    trace.push(format!("due {}", store.expire_due(130, 10).await.unwrap()));
    trace.push(format!(
        "due again {}",
        store.expire_due(500, 10).await.unwrap()
    ));
    trace.push(format!("twin back A={:?}", stock("A").await));

    // A hold naming its session: released early by that session only, once.
    store
        .place(&hold("h4", "fp4", &[("A", 2)], 40, Some("cs_4")))
        .await
        .unwrap();
    trace.push(format!(
        "other session {:?}",
        store.convert(ACCOUNT, "fp4", "cs_other").await.unwrap()
    ));
    trace.push(format!(
        "release {}",
        store.release_for_session(ACCOUNT, "cs_4").await.unwrap()
    ));
    trace.push(format!(
        "release again {}",
        store.release_for_session(ACCOUNT, "cs_4").await.unwrap()
    ));
    trace.push(format!("released A={:?}", stock("A").await));

    // A SKU a feed deleted: the hold still ends, nothing moves.
    store
        .place(&hold("h5", "fp5", &[("B", 0)], 50, None))
        .await
        .unwrap();
    store
        .place(&hold("h6", "fp6", &[("A", 1)], 60, None))
        .await
        .unwrap();
    store
        .apply_sku_changes(
            ACCOUNT,
            "import-3",
            4,
            &[SkuChange::Delete { sku: "A".into() }],
        )
        .await
        .unwrap();
    trace.push(format!(
        "expire after delete {}",
        store.expire_due(1_000, 10).await.unwrap()
    ));
    trace.push(format!("deleted A={:?}", stock("A").await));
    trace.push(format!(
        "missing sku {:?}",
        store
            .place(&hold("h7", "fp7", &[("Z", 1)], 70, None))
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
    expect(&format!("short {:?}", Placement::Short { sku: "B".into() }));
    expect("after short A=Some((Some(3), 0)) B=Some((Some(1), 0))");
    expect("again AlreadyPlaced");
    expect("held A=Some((Some(1), 2)) B=Some((Some(0), 1))");
    expect("feed again A=Some((Some(1), 2))");
    expect("newer feed A=Some((Some(8), 2))");
    expect("convert again Some(\"h1\")");
    expect("sold A=Some((Some(8), 0)) B=Some((Some(0), 0))");
    expect("two held A=Some((Some(6), 2))");
    expect("convert twin Some(\"h2\")");
    expect("not yet due 0");
    expect("due 1");
    expect("due again 0");
    expect("twin back A=Some((Some(7), 0))");
    expect("other session None");
    expect("release again false");
    expect("released A=Some((Some(7), 0))");
    expect("expire after delete 2");
    expect("deleted A=None");
    expect(&format!(
        "missing sku {:?}",
        Placement::Short { sku: "Z".into() }
    ));
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
