//! Latency of both checkout hooks, p50/p99 over sequential requests:
//! - `logic`: the decision alone (customize answer, finalize rules), no I/O;
//! - `in-process`: the hook service with DynamoDB Local (signature, idempotency claim and
//!   completion, merchant read, SKU reads, the stock transaction);
//! - `http`: end to end through a loopback HTTP route (API Gateway event built from the
//!   request, as AWS would) from a reqwest client.
//!
//! Needs DYNAMODB_ENDPOINT (`make bench-hooks` starts DynamoDB Local). BENCH_REQUESTS sets
//! the count per series (500).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::config::Env;
use shared::hooks::function::HookFunction;
use shared::hooks::request::{CustomizeData, FinalizeData};
use shared::hooks::{Hook, customize, finalize};
use shared::merchants::{CheckoutSettings, Merchant};
use shared::skus::{SkuChange, SkuRecord};
use shared::store::dynamo::{DynamoCatalog, DynamoMerchants};
use shared::store::{MerchantAdmin, SkuRecords};

const ACCOUNT: &str = "acct_1BenchHooks";
const SECRET: &str = "whsec_bench_hooks";

fn settings() -> CheckoutSettings {
    testkit::demo_checkout_settings()
}

fn request(hook: Hook, i: usize) -> Value {
    let item = json!({"id": "li_1", "sku_id": format!("SKU-{}", i % 20), "name": "Mug", "quantity": 1, "unit_amount": 1500, "amount_subtotal": 1500, "amount_total": 1500});
    let address = json!({"line1": "1 Market St", "city": "San Francisco", "state": "CA", "postal_code": "94105", "country": "US"});
    match hook {
        Hook::Customize => {
            json!({"type": "v1.delegated_checkout.customize_checkout", "id": format!("req_c_{i}_{}", std::process::id()), "livemode": false, "context": ACCOUNT,
            "data": {"currency": "usd", "automatic_tax": {"enabled": false}, "line_item_details": [item], "shipping_details": {"address": address}, "amount_subtotal": 1500, "amount_total": 1500}})
        }
        Hook::Finalize => {
            json!({"type": "v1.delegated_checkout.finalize_checkout", "id": format!("req_f_{i}_{}", std::process::id()), "livemode": false, "context": ACCOUNT,
            "data": {"currency": "usd", "checkout_session": format!("cs_bench_{i}_{}", std::process::id()), "line_items_details": [item],
                "payment_method_details": {"type": "card", "card": {"funding": "credit"}}, "shipping_details": {"address": address}, "amount_total": 1500}})
        }
    }
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| {
        samples[((samples.len() as f64 * q).ceil() as usize)
            .saturating_sub(1)
            .min(samples.len() - 1)]
    };
    println!(
        "{name:<28} n={:<5} p50={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        samples.len(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: usize = std::env::var("BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")?;
    let dynamo = testkit::dynamo().await;
    let tables = [
        testkit::fresh_table(&dynamo, testkit::MERCHANTS).await,
        testkit::fresh_table(&dynamo, testkit::CATALOG).await,
        testkit::fresh_table(&dynamo, testkit::IDEMPOTENCY).await,
    ];
    let mut merchant = Merchant::new(ACCOUNT);
    merchant.checkout = settings();
    DynamoMerchants::new(dynamo.clone(), &tables[0])
        .put_merchant(&merchant)
        .await?;
    let catalog = DynamoCatalog::new(dynamo.clone(), &tables[1]);
    let skus: Vec<SkuChange> = (0..20)
        .map(|i| {
            SkuChange::Replace(SkuRecord {
                account_id: ACCOUNT.into(),
                sku: format!("SKU-{i}"),
                title: None,
                availability: shared::skus::Availability::InStock,
                quantity: Some(1_000_000_000),
                available: Some(1_000_000_000),
                held: None,
                price: None,
                shipping: vec![],
                shipping_cost_basis: None,
                source_import: "bench".into(),
                updated_at: 0,
                product_import: None,
            })
        })
        .collect();
    catalog
        .apply_sku_changes(ACCOUNT, "bench", 0, &skus)
        .await?;
    let snapshot_map = catalog
        .skus(
            ACCOUNT,
            &(0..20).map(|i| format!("SKU-{i}")).collect::<Vec<_>>(),
        )
        .await?;

    // Logic alone.
    let settings = settings();
    for hook in [Hook::Customize, Hook::Finalize] {
        let mut samples = Vec::with_capacity(count);
        for i in 0..count {
            let data = request(hook, i)["data"].clone();
            let started = Instant::now();
            match hook {
                Hook::Customize => {
                    let data: CustomizeData = serde_json::from_value(data)?;
                    std::hint::black_box(customize::customize(&settings, &data, &snapshot_map));
                }
                Hook::Finalize => {
                    let data: FinalizeData = serde_json::from_value(data)?;
                    std::hint::black_box((
                        finalize::rule_decline(&settings, &data),
                        finalize::approved(&settings, &data),
                    ));
                }
            }
            samples.push(started.elapsed());
        }
        report(&format!("{hook:?} logic (no I/O)"), samples);
    }

    let env = Env::from_map([
        ("MERCHANTS_TABLE", tables[0].clone()),
        ("CATALOG_TABLE", tables[1].clone()),
        ("IDEMPOTENCY_TABLE", tables[2].clone()),
        ("STRIPE_HOOK_SECRETS", SECRET.to_string()),
        ("DYNAMODB_ENDPOINT", endpoint),
    ]);
    let functions = [
        (
            Hook::Customize,
            "/stripe/hooks/customize_checkout",
            Arc::new(
                HookFunction::init(
                    Hook::Customize,
                    "/stripe/hooks/customize_checkout",
                    env.clone(),
                )
                .await?,
            ),
        ),
        (
            Hook::Finalize,
            "/stripe/hooks/finalize_checkout",
            Arc::new(
                HookFunction::init(Hook::Finalize, "/stripe/hooks/finalize_checkout", env).await?,
            ),
        ),
    ];
    for (hook, path, function) in &functions {
        let mut samples = Vec::with_capacity(count);
        for i in 0..count {
            let text = request(*hook, i + count).to_string();
            let event = testkit::signed_post(path, text.as_bytes(), SECRET);
            let started = Instant::now();
            let response = function.handle(&event).await;
            samples.push(started.elapsed());
            assert_eq!(response.status(), 200);
        }
        report(&format!("{hook:?} in-process + DDB"), samples);
    }

    let (c, f) = (functions[0].2.clone(), functions[1].2.clone());
    let gateway = testkit::gateway::serve(move |event| {
        let (c, f) = (c.clone(), f.clone());
        async move {
            if event.uri().path().ends_with("customize_checkout") {
                c.handle(&event).await
            } else {
                f.handle(&event).await
            }
        }
    })
    .await;
    let http = reqwest::Client::new();
    for (hook, path, _) in &functions {
        let mut samples = Vec::with_capacity(count);
        for i in 0..count {
            let text = request(*hook, i + 2 * count).to_string();
            let header =
                shared::signature::sign_header(text.as_bytes(), &[SECRET], testkit::now_seconds());
            let started = Instant::now();
            let response = http
                .post(gateway.url(path))
                .header("stripe-signature", header)
                .header("content-type", "application/json")
                .body(text)
                .send()
                .await?;
            let status = response.status();
            let _ = response.bytes().await;
            samples.push(started.elapsed());
            assert!(status.is_success());
        }
        report(&format!("{hook:?} HTTP end to end"), samples);
    }
    Ok(())
}
