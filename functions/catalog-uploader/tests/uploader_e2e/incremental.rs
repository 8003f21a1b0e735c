//! Incremental uploads end to end: two stacks, one with incremental uploads on and one
//! with them off, get the same catalog and then the same catalog with 1% of its rows
//! changed (and, for v2, some removed and some added in a `.replace.` file). What Stripe
//! (stripe-sim) holds and the SKU records the hooks read must end up the same, while the
//! incremental stack sent only what changed.

use super::*;

const BASE_ROWS: usize = 200;
/// 1% of the rows, changed in the second file.
const CHANGED: [usize; 2] = [17, 123];
/// Left out of the second file (deleted by a replace) and added to it.
const REMOVED: std::ops::Range<usize> = 190..195;
const ADDED: std::ops::Range<usize> = 200..203;

fn catalog(ids: impl Iterator<Item = usize>) -> Vec<u8> {
    let rows: Vec<String> = ids
        .map(|i| {
            let id = format!("SKU-{i:04}");
            if CHANGED.contains(&i) {
                row(&id, &format!("Mug {i} v2"), "19.99 USD", 1)
            } else {
                row(&id, &format!("Mug {i}"), "12.50 USD", 10 + (i % 7) as u32)
            }
        })
        .collect();
    csv(&rows)
}

fn base_catalog() -> Vec<u8> {
    let rows: Vec<String> = (0..BASE_ROWS)
        .map(|i| {
            let id = format!("SKU-{i:04}");
            row(&id, &format!("Mug {i}"), "12.50 USD", 10 + (i % 7) as u32)
        })
        .collect();
    csv(&rows)
}

fn second_catalog() -> Vec<u8> {
    catalog((0..BASE_ROWS).filter(|i| !REMOVED.contains(i)).chain(ADDED))
}

/// A stack whose merchant has incremental uploads on or off.
async fn stack(generation: ApiGeneration, incremental: bool) -> Stack {
    let stack = Stack::start(generation, ValidationMode::Lenient).await;
    let mut merchant = Merchant::new(ACCOUNT);
    merchant.api_generation = generation;
    merchant.validation = ValidationMode::Lenient;
    merchant.incremental_uploads = incremental;
    stack.merchants().put_merchant(&merchant).await.unwrap();
    stack
}

/// Drops the base catalog, then the changed one, each imported to the end; returns the
/// second file's `status.json`.
async fn two_drops(stack: &Stack, name: &str) -> Value {
    let key = format!("incoming/{ACCOUNT}/catalog/{name}");
    for body in [base_catalog(), second_catalog()] {
        let outcome = stack.drop_file(&key, &body).await;
        assert_eq!(outcome["files"][0]["outcome"], "queued", "{outcome}");
        stack.stripe_announces_the_latest_import().await;
        let status = stack.status(name).await;
        assert_eq!(status["status"], "succeeded", "{status}");
    }
    stack.status(name).await
}

/// The v2 import as stripe-sim holds it.
async fn stripe_import(stack: &Stack, id: &str) -> Value {
    stack
        .http
        .get(format!(
            "{}/v2/commerce/product_catalog/imports/{id}",
            stack.sim.base_url()
        ))
        .bearer_auth(KEY)
        .header("Stripe-Version", "2026-06-24.dahlia")
        .header("Stripe-Context", ACCOUNT)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A SKU record without what names the import that wrote it (the stacks' imports differ).
async fn sku(stack: &Stack, id: &str) -> Option<shared::skus::SkuRecord> {
    stack
        .catalog()
        .sku(ACCOUNT, id)
        .await
        .unwrap()
        .map(|mut r| {
            // Which import wrote it, and when, differ between two runs by design.
            r.source_import = String::new();
            r.updated_at = 0;
            r.product_import = r.product_import.map(|_| String::new());
            r
        })
}

async fn same_end_state(generation: ApiGeneration, name: &str) -> (Stack, Stack, Value, Value) {
    let on = stack(generation, true).await;
    let off = stack(generation, false).await;
    let status_on = two_drops(&on, name).await;
    let status_off = two_drops(&off, name).await;

    let products_on = on.stripe_catalog(ACCOUNT).await["products"].clone();
    let products_off = off.stripe_catalog(ACCOUNT).await["products"].clone();
    assert_eq!(
        products_on, products_off,
        "Stripe holds the same products, field for field"
    );
    assert_eq!(products_on["SKU-0017"]["title"], "Mug 17 v2");
    assert_eq!(products_on["SKU-0017"]["price"], "19.99 USD");
    assert_eq!(products_on["SKU-0201"]["inventory_quantity"], "15");

    for i in 0..ADDED.end {
        let id = format!("SKU-{i:04}");
        assert_eq!(sku(&on, &id).await, sku(&off, &id).await, "{id}");
    }
    let changed = sku(&on, "SKU-0123").await.expect("a SKU record");
    assert_eq!(
        (changed.quantity, changed.price.map(|p| p.amount)),
        (Some(1), Some(1999))
    );
    (on, off, status_on, status_off)
}

#[tokio::test]
async fn v2_an_incremental_replace_ends_where_a_whole_one_does_and_sends_only_changes() {
    let (on, off, status_on, status_off) =
        same_end_state(ApiGeneration::V2, "full.replace.csv").await;
    let products = on.stripe_catalog(ACCOUNT).await["products"].clone();
    assert_eq!(
        products.as_object().map(|p| p.len()),
        Some(BASE_ROWS - REMOVED.len() + ADDED.len())
    );
    assert!(products.get("SKU-0192").is_none(), "deleted at Stripe");

    // What the incremental stack sent: 2 changed, 3 new and 5 deletion rows, as an upsert.
    let incremental = &status_on["incremental"];
    assert_eq!(incremental["applied"], true, "{status_on}");
    assert_eq!(
        (
            incremental["unchanged"].as_u64(),
            incremental["changed"].as_u64(),
            incremental["new"].as_u64(),
            incremental["deleted"].as_u64()
        ),
        (Some(193), Some(2), Some(3), Some(5))
    );
    assert_eq!(
        status_on["stripe_successes"], 10,
        "Stripe processed 10 rows"
    );
    assert_eq!(status_off["stripe_successes"], 198);
    assert_eq!(status_on["rows"], 198, "the report covers the whole file");
    let (sent, file) = (
        incremental["bytes_sent"].as_u64().unwrap_or(0),
        incremental["bytes_in_file"].as_u64().unwrap_or(0),
    );
    assert!(sent > 0 && sent * 10 < file, "{sent} of {file} bytes");

    let import_on = stripe_import(&on, status_on["stripe_import_id"].as_str().unwrap()).await;
    let import_off = stripe_import(&off, status_off["stripe_import_id"].as_str().unwrap()).await;
    assert_eq!(import_on["mode"], "upsert", "{import_on}");
    assert_eq!(import_off["mode"], "replace", "{import_off}");
    assert_eq!(status_off["incremental"]["applied"], false);

    // Stripe deleted the products the replace file left out, and the checkout stops
    // selling them the same way on both stacks (compared above): their records are gone.
    assert!(sku(&on, "SKU-0192").await.is_none());
    assert!(sku(&on, "SKU-0195").await.is_some());
}

#[tokio::test]
async fn v1_an_incremental_upload_ends_where_a_whole_one_does_and_sends_only_changes() {
    let (on, _off, status_on, status_off) = same_end_state(ApiGeneration::V1, "full.csv").await;
    // v1 imports upsert: the rows left out of the second file stay at Stripe, on both.
    let products = on.stripe_catalog(ACCOUNT).await["products"].clone();
    assert_eq!(
        products.as_object().map(|p| p.len()),
        Some(BASE_ROWS + ADDED.len())
    );
    let incremental = &status_on["incremental"];
    assert_eq!(
        (
            incremental["changed"].as_u64(),
            incremental["new"].as_u64(),
            incremental["deleted"].as_u64()
        ),
        (Some(2), Some(3), Some(0))
    );
    assert_eq!(status_on["stripe_successes"], 5);
    assert_eq!(status_off["stripe_successes"], 198);
}
