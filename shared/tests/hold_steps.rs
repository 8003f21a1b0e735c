//! A hold too large for one DynamoDB transaction moves in steps (store::dynamo::holds). An
//! invocation can stop between two steps; these tests put the table in exactly that state
//! (as the first step left it) and check that a retry or the sweep carries the hold on and
//! moves only the stock the finished steps moved. Runs against DynamoDB Local (`make test`).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use shared::holds::{Hold, HoldLine, HoldStatus};
use shared::skus::{Availability, SkuChange, SkuRecord};
use shared::store::dynamo::DynamoCatalog;
use shared::store::{Placement, SkuRecords, StockHolds};

const ACCOUNT: &str = "acct_1Steps";
const LINES: usize = 100;

fn sku(i: usize) -> String {
    format!("R{i:03}")
}

fn stock(i: usize, quantity: i64) -> SkuChange {
    SkuChange::Replace(SkuRecord {
        account_id: ACCOUNT.into(),
        sku: sku(i),
        title: None,
        availability: Availability::InStock,
        quantity: Some(quantity),
        available: Some(quantity),
        held: None,
        price: None,
        shipping: vec![],
        shipping_cost_basis: None,
        source_import: "import-1".into(),
        updated_at: 1,
        product_import: None,
    })
}

fn hold(id: &str, skus: impl IntoIterator<Item = usize>, expires_at: i64) -> Hold {
    Hold {
        account_id: ACCOUNT.into(),
        hold_id: id.into(),
        fingerprint: format!("fp-{id}"),
        session_id: None,
        lines: skus
            .into_iter()
            .map(|i| HoldLine {
                sku: sku(i),
                quantity: 1,
            })
            .collect(),
        status: HoldStatus::Open,
        created_at: 1,
        expires_at,
        order_session: None,
        placed_lines: None,
        ending_to: None,
        ending_moved: None,
    }
}

struct Table {
    client: Client,
    name: String,
    catalog: DynamoCatalog,
}

impl Table {
    async fn new() -> Self {
        let client = testkit::dynamo().await;
        let name = testkit::fresh_table(&client, testkit::CATALOG).await;
        let catalog = DynamoCatalog::new(client.clone(), name.clone());
        let feed: Vec<SkuChange> = (0..LINES).map(|i| stock(i, 2)).collect();
        catalog
            .apply_sku_changes(ACCOUNT, "import-1", 1, &feed)
            .await
            .unwrap();
        Self {
            client,
            name,
            catalog,
        }
    }

    /// (available, held) of every SKU, in order.
    async fn stock(&self) -> Vec<(i64, i64)> {
        let skus: Vec<String> = (0..LINES).map(sku).collect();
        let found = self.catalog.skus(ACCOUNT, &skus).await.unwrap();
        skus.iter()
            .map(|s| {
                let r = &found[s];
                (r.available.unwrap(), r.held.unwrap_or(0))
            })
            .collect()
    }

    /// Moves one unit of SKU `i` between available and held, outside any hold: undoes what
    /// a step did, to leave the table as if the invocation had stopped before it.
    async fn undo_take(&self, i: usize) {
        self.client
            .update_item()
            .table_name(&self.name)
            .key("account_id", AttributeValue::S(ACCOUNT.into()))
            .key("sk", AttributeValue::S(format!("SKU#{}", sku(i))))
            .update_expression("SET available = available + :one, held = held - :one")
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await
            .unwrap();
    }

    async fn set_on_hold(&self, hold: &Hold, expression: &str, values: &[(&str, AttributeValue)]) {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.name)
            .key("account_id", AttributeValue::S(ACCOUNT.into()))
            .key(
                "sk",
                AttributeValue::S(format!("HOLD#{}#{}", hold.fingerprint, hold.hold_id)),
            )
            .update_expression(expression);
        for (name, value) in values {
            update = update.expression_attribute_values(*name, value.clone());
        }
        update.send().await.unwrap();
    }

    async fn status_of(&self, hold: &Hold) -> String {
        let item = self
            .client
            .get_item()
            .table_name(&self.name)
            .key("account_id", AttributeValue::S(ACCOUNT.into()))
            .key(
                "sk",
                AttributeValue::S(format!("HOLD#{}#{}", hold.fingerprint, hold.hold_id)),
            )
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        let item = item.item().unwrap();
        assert!(
            !item.contains_key("ending_to") || item["status"].as_s().unwrap() == "open",
            "a finished hold keeps no ending marker: {item:?}"
        );
        item["status"].as_s().unwrap().clone()
    }
}

const FAR: i64 = 10_000_000;

/// The table as an invocation that placed the first step (99 lines) and stopped left it.
async fn stopped_after_first_step(table: &Table, big: &Hold) {
    assert_eq!(table.catalog.place(big).await.unwrap(), Placement::Placed);
    table.undo_take(99).await;
    table
        .set_on_hold(
            big,
            "SET placed_lines = :p",
            &[(":p", AttributeValue::N("99".into()))],
        )
        .await;
}

#[tokio::test]
async fn a_retried_request_finishes_placing_a_hold_that_stopped_half_way() {
    let table = Table::new().await;
    let big = hold("big", 0..LINES, 100);
    stopped_after_first_step(&table, &big).await;
    assert_eq!(table.stock().await[99], (2, 0), "the second step never ran");

    assert_eq!(table.catalog.place(&big).await.unwrap(), Placement::Placed);
    assert!(table.stock().await.iter().all(|s| *s == (1, 1)));
    // Whole now: a further retry changes nothing, and the order can convert it.
    assert_eq!(
        table.catalog.place(&big).await.unwrap(),
        Placement::AlreadyPlaced
    );
    assert_eq!(
        table
            .catalog
            .convert(ACCOUNT, "fp-big", "cs_1")
            .await
            .unwrap(),
        Some("big".into())
    );
    assert!(table.stock().await.iter().all(|s| *s == (1, 0)));
    assert_eq!(table.status_of(&big).await, "converted");
}

#[tokio::test]
async fn the_sweep_gives_back_only_what_a_stopped_placement_took() {
    let table = Table::new().await;
    // Another checkout holds the last SKU, so its held count cannot tell the sweep whether
    // the big hold took it.
    let other = hold("other", [99], FAR);
    assert_eq!(
        table.catalog.place(&other).await.unwrap(),
        Placement::Placed
    );
    let big = hold("big", 0..LINES, 100);
    stopped_after_first_step(&table, &big).await;
    // Never approved, so never converted.
    assert_eq!(
        table
            .catalog
            .convert(ACCOUNT, "fp-big", "cs_1")
            .await
            .unwrap(),
        None
    );

    assert_eq!(table.catalog.expire_due(1_000, 10).await.unwrap(), 1);
    let stock = table.stock().await;
    assert!(stock[..99].iter().all(|s| *s == (2, 0)), "{stock:?}");
    assert_eq!(stock[99], (1, 1), "the other checkout keeps its unit");
    assert_eq!(table.status_of(&big).await, "expired");
}

#[tokio::test]
async fn an_ending_that_stopped_half_way_is_carried_on_as_it_started() {
    let table = Table::new().await;
    let big = hold("big", 0..LINES, FAR);
    assert_eq!(table.catalog.place(&big).await.unwrap(), Placement::Placed);
    // A release moved the first 99 lines back, then stopped.
    for i in 0..99 {
        table.undo_take(i).await;
    }
    table
        .set_on_hold(
            &big,
            "SET ending_to = :to, ending_moved = :m",
            &[
                (":to", AttributeValue::S("released".into())),
                (":m", AttributeValue::N("99".into())),
            ],
        )
        .await;
    // The order cannot take a hold that is being given back...
    assert_eq!(
        table
            .catalog
            .convert(ACCOUNT, "fp-big", "cs_1")
            .await
            .unwrap(),
        None
    );
    // ...and the sweep finishes the release once it is due, moving the last line only.
    assert_eq!(table.catalog.expire_due(FAR, 10).await.unwrap(), 1);
    assert!(table.stock().await.iter().all(|s| *s == (2, 0)));
    assert_eq!(table.status_of(&big).await, "released");
    assert_eq!(table.catalog.expire_due(FAR * 2, 10).await.unwrap(), 0);
}
