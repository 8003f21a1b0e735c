//! `make bench-skus`: how fast a finished import's rows become the SKU records the
//! checkout hooks read, and what each costs in DynamoDB write units (as DynamoDB Local
//! reports them through the metering proxy, `ReturnConsumedCapacity`). BENCH_SKUS rows
//! (default 100 000) of one merchant, applied by `apply_sku_changes` as completion does,
//! then applied again (the second import of an unchanged catalog).
//!
//! A product row is one conditional `UpdateItem`, not part of a `BatchWriteItem`: only an
//! update can set `available` from the new quantity less what open holds keep (`held`)
//! atomically; a batch put would overwrite holds placed meanwhile. Deletions do go in
//! batches of 25.

use std::net::SocketAddr;
use std::time::Instant;

use shared::money::{Currency, Money};
use shared::skus::{Availability, ShippingOption, SkuChange, SkuRecord};
use shared::store::SkuRecords;
use shared::store::dynamo::DynamoCatalog;

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn usd(amount: i64) -> Money {
    Money {
        amount,
        currency: Currency::parse("usd").expect("a currency code"),
    }
}

fn row(account: &str, i: usize) -> SkuChange {
    SkuChange::Replace(SkuRecord {
        account_id: account.into(),
        sku: format!("SKU-{i:09}"),
        title: Some(format!("Trail Mug {i}")),
        availability: Availability::InStock,
        quantity: Some((i % 500) as i64),
        available: None,
        held: None,
        price: Some(usd(1800 + (i % 90) as i64)),
        shipping: vec![ShippingOption {
            country: "US".into(),
            area: "ALL".into(),
            service: "Standard".into(),
            min_days: Some(3),
            max_days: Some(5),
            price: usd(500),
        }],
        shipping_cost_basis: None,
        source_import: String::new(),
        updated_at: 0,
        product_import: None,
    })
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let Ok(upstream) = std::env::var("DYNAMODB_ENDPOINT") else {
        eprintln!("error: DYNAMODB_ENDPOINT is not set: run `make bench-skus`");
        return std::process::ExitCode::FAILURE;
    };
    let rows: usize = setting("BENCH_SKUS", 100_000);
    let direct = testkit::dynamo().await;
    let table = testkit::fresh_table(&direct, testkit::CATALOG).await;
    let proxy =
        match dynamo_faults::FaultProxy::start(SocketAddr::from(([127, 0, 0, 1], 0)), &upstream)
            .await
        {
            Ok(proxy) => proxy,
            Err(e) => {
                eprintln!("error: the metering proxy cannot listen: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
    let client =
        shared::store::dynamo::client(&shared::config::DynamoSettings::for_tooling(proxy.url()))
            .await;
    let catalog = DynamoCatalog::new(client, &table);
    let account = "acct_1SkuBench";
    let changes: Vec<SkuChange> = (0..rows).map(|i| row(account, i)).collect();
    println!("SKU records from a finished import: {rows} product rows, one merchant");
    for pass in ["first import", "same catalog again"] {
        let before = proxy.stats();
        let started = Instant::now();
        if let Err(e) = catalog
            .apply_sku_changes(account, pass, 1_800_000_000_000, &changes)
            .await
        {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
        let elapsed = started.elapsed();
        let after = proxy.stats();
        let units = (after.write_milli_units - before.write_milli_units) as f64 / 1000.0;
        println!(
            "  {pass:<20} {:>8.1} s  {:>8.0} rows/s  {:>6.2} write units per row  ({} requests)",
            elapsed.as_secs_f64(),
            rows as f64 / elapsed.as_secs_f64(),
            units / rows as f64,
            after.total.requests - before.total.requests
        );
    }
    std::process::ExitCode::SUCCESS
}
