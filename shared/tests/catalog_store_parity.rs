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
use shared::store::{
    AgreementStore, FeedSlots, Placement, SkuRecords, SkuRetirement, SkusRetired, StockHolds,
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
        held: None,
        price: parse_price("5.00 USD"),
        shipping: vec![],
        shipping_cost_basis: None,
        source_import: source.into(),
        updated_at: 1,
        product_import: None,
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
        placed_lines: None,
        ending_to: None,
        ending_moved: None,
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

/// A product row of `product_import`, as a product feed writes it.
fn product_row(account: &str, sku: &str, product_import: &str) -> SkuChange {
    let SkuChange::Replace(mut row) = record(sku, 4, product_import) else {
        unreachable!("record() is a product row")
    };
    row.account_id = account.into();
    row.product_import = Some(product_import.into());
    SkuChange::Replace(row)
}

/// What the checkout sees of each SKU after a replace import's sweep.
async fn retirement_trace<C: SkuRecords + SkuRetirement + StockHolds>(store: &C) -> Vec<String> {
    const OTHER: &str = "acct_1OtherSeller";
    let mut trace = Vec::new();
    let apply = |account: &'static str, source: &'static str, changes: Vec<SkuChange>| async move {
        store
            .apply_sku_changes(account, source, 1, &changes)
            .await
            .unwrap()
    };
    // A and B are in the replace file (imp-1); E and D came from an older one; C only ever
    // had an inventory row; D has a unit held; another seller's X is not in the file.
    apply(
        ACCOUNT,
        "imp-0",
        vec![
            product_row(ACCOUNT, "D", "imp-0"),
            product_row(ACCOUNT, "E", "imp-0"),
        ],
    )
    .await;
    apply(
        ACCOUNT,
        "imp-1",
        vec![
            product_row(ACCOUNT, "A", "imp-1"),
            product_row(ACCOUNT, "B", "imp-1"),
        ],
    )
    .await;
    let stock = |sku: &str| SkuChange::Stock {
        sku: sku.into(),
        availability: Availability::InStock,
        quantity: Some(2),
    };
    // An inventory row after the product row does not make A left out.
    apply(ACCOUNT, "inv-1", vec![stock("C"), stock("A")]).await;
    apply(OTHER, "imp-9", vec![product_row(OTHER, "X", "imp-9")]).await;
    let placed = store
        .place(&hold("h1", "fp", &[("D", 1)], 10, None))
        .await
        .unwrap();
    trace.push(format!("placed {placed:?}"));

    for pass in ["first", "again"] {
        let retired = store
            .retire_skus_not_in(ACCOUNT, "imp-1", 50)
            .await
            .unwrap();
        trace.push(format!("{pass} {retired:?}"));
    }
    for (account, sku) in [
        (ACCOUNT, "A"),
        (ACCOUNT, "B"),
        (ACCOUNT, "C"),
        (ACCOUNT, "D"),
        (ACCOUNT, "E"),
        (OTHER, "X"),
    ] {
        let seen = store.sku(account, sku).await.unwrap().map(|r| {
            (
                r.availability,
                r.available,
                r.held.unwrap_or(0),
                r.product_import,
            )
        });
        trace.push(format!("{sku} {seen:?}"));
    }
    trace
}

#[tokio::test]
async fn retiring_what_a_replace_file_left_out_behaves_alike_in_both_stores() {
    let client = testkit::dynamo().await;
    let table = testkit::fresh_table(&client, testkit::CATALOG).await;
    let dynamo = retirement_trace(&DynamoCatalog::new(client, table)).await;
    let memory = retirement_trace(&MemoryCatalog::default()).await;
    assert_eq!(memory, dynamo);
    let first = SkusRetired {
        deleted: 2,
        out_of_stock: 1,
    };
    let again = SkusRetired {
        deleted: 0,
        out_of_stock: 1,
    };
    let imp1 = Some("imp-1".to_string());
    assert_eq!(
        dynamo,
        [
            format!("placed {:?}", Placement::Placed),
            format!("first {first:?}"),
            format!("again {again:?}"),
            format!("A {:?}", Some((Availability::InStock, Some(2), 0, &imp1))),
            format!("B {:?}", Some((Availability::InStock, Some(4), 0, &imp1))),
            "C None".to_string(),
            format!(
                "D {:?}",
                Some((
                    Availability::OutOfStock,
                    Some(3),
                    1,
                    Some("imp-0".to_string())
                ))
            ),
            "E None".to_string(),
            format!(
                "X {:?}",
                Some((Availability::InStock, Some(4), 0, Some("imp-9".to_string())))
            ),
        ]
    );
}

/// A cart at Stripe's limit of 100 line items (docs/stripe.md), every one a counted SKU:
/// more than one DynamoDB transaction holds beside the hold itself.
const STRIPE_MAX_LINES: usize = 100;

fn many(prefix: &str) -> Vec<(String, i64)> {
    (0..STRIPE_MAX_LINES)
        .map(|i| (format!("{prefix}{i:03}"), 1))
        .collect()
}

fn big_hold(id: &str, prefix: &str, created_at: i64, session: Option<&str>) -> Hold {
    let lines = many(prefix);
    let lines: Vec<(&str, i64)> = lines.iter().map(|(s, q)| (s.as_str(), *q)).collect();
    hold(id, &format!("fp-{id}"), &lines, created_at, session)
}

/// (available, held) summed over a prefix's SKUs.
async fn totals<C: SkuRecords>(store: &C, prefix: &str) -> (i64, i64) {
    let skus: Vec<String> = many(prefix).into_iter().map(|(s, _)| s).collect();
    let found = store.skus(ACCOUNT, &skus).await.unwrap();
    found.values().fold((0, 0), |(a, h), r| {
        (a + r.available.unwrap_or(0), h + r.held.unwrap_or(0))
    })
}

async fn large_cart_trace<C: SkuRecords + StockHolds>(store: &C) -> Vec<String> {
    let mut trace = Vec::new();
    for prefix in ["L", "M", "N", "P"] {
        let mut feed: Vec<SkuChange> = many(prefix)
            .iter()
            .map(|(sku, _)| record(sku, 1, "import-big"))
            .collect();
        if prefix == "M" {
            // The last SKU of the cart is sold out: found only in the last step.
            feed[STRIPE_MAX_LINES - 1] = record("M099", 0, "import-big");
        }
        store
            .apply_sku_changes(ACCOUNT, "import-big", 1, &feed)
            .await
            .unwrap();
    }
    let big = big_hold("big", "L", 10, Some("cs_big"));
    trace.push(format!("place {:?}", store.place(&big).await.unwrap()));
    trace.push(format!("again {:?}", store.place(&big).await.unwrap()));
    trace.push(format!("L held {:?}", totals(store, "L").await));
    let short = big_hold("short", "M", 20, Some("cs_short"));
    trace.push(format!("short {:?}", store.place(&short).await.unwrap()));
    trace.push(format!("M after short {:?}", totals(store, "M").await));
    trace.push(format!(
        "convert {:?}",
        store.convert(ACCOUNT, "fp-big", "cs_big").await.unwrap()
    ));
    trace.push(format!(
        "convert again {:?}",
        store.convert(ACCOUNT, "fp-big", "cs_big").await.unwrap()
    ));
    trace.push(format!("L sold {:?}", totals(store, "L").await));
    store
        .place(&big_hold("given-up", "N", 30, Some("cs_n")))
        .await
        .unwrap();
    trace.push(format!("N held {:?}", totals(store, "N").await));
    trace.push(format!(
        "release {}",
        store.release_for_session(ACCOUNT, "cs_n").await.unwrap()
    ));
    trace.push(format!("N back {:?}", totals(store, "N").await));
    store
        .place(&big_hold("forgotten", "P", 40, None))
        .await
        .unwrap();
    trace.push(format!(
        "expired {}",
        store.expire_due(1_000, 10).await.unwrap()
    ));
    trace.push(format!("P back {:?}", totals(store, "P").await));
    trace
}

#[tokio::test]
async fn carts_at_stripes_line_limit_are_held_whole_or_not_at_all_in_both_stores() {
    let client = testkit::dynamo().await;
    let table = testkit::fresh_table(&client, testkit::CATALOG).await;
    let dynamo = large_cart_trace(&DynamoCatalog::new(client, table)).await;
    let memory = large_cart_trace(&MemoryCatalog::default()).await;
    assert_eq!(memory, dynamo);
    assert_eq!(
        dynamo,
        vec![
            "place Placed".to_string(),
            "again AlreadyPlaced".into(),
            "L held (0, 100)".into(),
            format!("short {:?}", Placement::Short { sku: "M099".into() }),
            "M after short (99, 0)".into(),
            "convert Some(\"big\")".into(),
            "convert again Some(\"big\")".into(),
            "L sold (0, 0)".into(),
            "N held (0, 100)".into(),
            "release true".into(),
            "N back (100, 0)".into(),
            "expired 1".into(),
            "P back (100, 0)".into(),
        ]
    );
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
