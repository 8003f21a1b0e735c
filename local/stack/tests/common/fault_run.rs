//! The fault run (issue 12's acceptance), shared by `tests/faults_e2e.rs` (small, in
//! `make test`) and `benches/faults.rs` (`make bench-faults`, 100 purchases and 20
//! uploads): agentic purchases and catalog uploads through the local stack while
//! stripe-sim fails a share of the functions' Stripe calls (a 429 it asks to retry, a 500,
//! a stall past the functions' timeout), DynamoDB throttles a share of theirs, and
//! stripe-sim loses some webhook deliveries. Then every completed checkout must have its
//! order, once, with its stock sold once; every upload its finished import, once; and no
//! function may have panicked. Everything is read back from DynamoDB, stripe-sim and the
//! logs, never from what the run expected.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use local_stack::Stack;
use serde_json::{Value, json};
use shared::imports::ImportStatus;
use shared::merchants::{ApiGeneration, Merchant, ValidationMode};
use shared::skus::{Availability, SkuChange, SkuRecord};
use shared::store::dynamo::{DynamoCatalog, DynamoMerchants, DynamoOrders};
use shared::store::{FeedSlots as _, ImportLog, MerchantAdmin, OrderStore, SkuRecords};

pub const SHOP: &str = "acct_1FaultRunShop";
const SKU: &str = "FAULT-MUG";

#[derive(Debug, Clone)]
pub struct FaultPlan {
    pub purchases: usize,
    pub uploads: usize,
    /// Share of the functions' Stripe API calls that fail, split evenly between a 429
    /// with `Stripe-Should-Retry: true`, a 500 and a stall past `STRIPE_TIMEOUT_MS`.
    pub stripe_fault_percent: f64,
    pub dynamo_throttle_percent: f64,
    /// Of `purchases`, how many are made while stripe-sim delivers no webhook at all
    /// (every event of theirs lost; a payment event could otherwise record the order):
    /// only reconciliation can record those orders.
    pub lost_purchases: usize,
    /// Purchases in flight at once.
    pub clients: usize,
    /// How long everything may take to settle.
    pub settle_within: Duration,
}

#[derive(Debug, Default)]
pub struct FaultReport {
    pub attempts: usize,
    pub completed: usize,
    pub declined: usize,
    pub orders: usize,
    pub units_sold: i64,
    pub uploads_finished: usize,
    pub imports_per_feed_merchant: Vec<usize>,
    pub stripe_faults_hit: u64,
    pub dynamo_faults: Value,
    /// The checkouts whose every webhook stripe-sim lost.
    pub lost_sessions: Vec<String>,
    /// Webhook deliveries stripe-sim lost.
    pub deliveries_dropped: usize,
    pub reconciled: f64,
    pub fallbacks: f64,
    pub panics: Vec<String>,
    pub elapsed: Duration,
}

/// The functions' own Stripe timeout in a fault run: short, so a stalled Stripe call times
/// out well inside the webhooks function's 20 s.
pub const STRIPE_TIMEOUT_MS: u64 = 1_500;

async fn post(url: String, body: &Value) -> Result<(u16, Value), String> {
    let response = reqwest::Client::new()
        .post(&url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn seed_shop(stack: &Stack, stock: i64) -> Result<(), String> {
    let mut merchant = Merchant::new(SHOP);
    merchant.checkout = testkit::demo_checkout_settings();
    DynamoMerchants::new(stack.dynamo.clone(), stack.table("MerchantsTable"))
        .put_merchant(&merchant)
        .await
        .map_err(|e| e.to_string())?;
    DynamoCatalog::new(stack.dynamo.clone(), stack.table("CatalogTable"))
        .apply_sku_changes(
            SHOP,
            "fault-run",
            0,
            &[SkuChange::Replace(SkuRecord {
                account_id: SHOP.into(),
                sku: SKU.into(),
                title: Some("Fault-run mug".into()),
                availability: Availability::InStock,
                quantity: Some(stock),
                available: Some(stock),
                held: None,
                price: None,
                shipping: vec![],
                shipping_cost_basis: None,
                source_import: "fault-run".into(),
                updated_at: 0,
                product_import: None,
            })],
        )
        .await
        .map_err(|e| e.to_string())
}

fn feed_merchant(i: usize) -> String {
    format!("acct_1FaultFeed{i:03}")
}

const CATALOG: &str = "id,title,description,link,image_link,brand,mpn,product_category,availability,inventory_quantity,price\n\
A1,Mug,A fine mug,https://shop.example/p/A1,https://shop.example/i/A1.jpg,Acme,MPN-A1,Home > Kitchen,in_stock,5,18.00 USD\n\
B2,Bowl,A fine bowl,https://shop.example/p/B2,https://shop.example/i/B2.jpg,Acme,MPN-B2,Home > Kitchen,in_stock,3,25.00 USD\n";

async fn drop_feeds(stack: &Stack, uploads: usize) -> Result<(), String> {
    let merchants = DynamoMerchants::new(stack.dynamo.clone(), stack.table("MerchantsTable"));
    for i in 0..uploads {
        let account = feed_merchant(i);
        let mut merchant = Merchant::new(&account);
        merchant.validation = ValidationMode::Lenient;
        merchant.api_generation = if i % 2 == 0 {
            ApiGeneration::V1
        } else {
            ApiGeneration::V2
        };
        merchants
            .put_merchant(&merchant)
            .await
            .map_err(|e| e.to_string())?;
        stack
            .s3
            .put_object()
            .bucket(&stack.bucket)
            .key(format!("incoming/{account}/catalog/fault-run.csv"))
            .body(CATALOG.as_bytes().to_vec().into())
            .send()
            .await
            .map_err(|e| format!("putting a feed: {e}"))?;
    }
    Ok(())
}

/// Turns the faults on: stripe-sim's on every `/v1` and `/v2` call the functions make
/// (its control endpoints stay clean), the proxy's on every DynamoDB call they make.
async fn faults_on(stack: &Stack, plan: &FaultPlan) -> Result<(), String> {
    // Three faults in a row, each taking its share of what the previous ones let through,
    // so that together they hit `stripe_fault_percent` of the calls.
    let share = plan.stripe_fault_percent / 3.0;
    let mut passed = 100.0;
    let kinds = [
        json!({"status": 429, "should_retry": true}),
        json!({"status": 500}),
        json!({"delay_ms": STRIPE_TIMEOUT_MS + 1_000}),
    ];
    for kind in kinds {
        let percent = (share / passed * 100.0).min(100.0);
        passed -= share;
        for prefix in ["/v1", "/v2"] {
            let mut fault = kind.clone();
            fault["path_prefix"] = json!(prefix);
            fault["percent"] = json!(percent);
            fault["count"] = json!(1_000_000);
            let (status, body) = post(format!("{}/_sim/faults", stack.sim_url), &fault).await?;
            if status != 200 {
                return Err(format!("stripe-sim refused the fault {fault}: {body}"));
            }
        }
    }
    let proxy = stack
        .faults
        .as_ref()
        .ok_or("the fault run needs the DynamoDB fault proxy (dynamodb_faults)")?;
    let (status, body) = post(
        proxy.control_url(),
        &json!({"throttle_percent": plan.dynamo_throttle_percent}),
    )
    .await?;
    if status != 200 {
        return Err(format!("the DynamoDB fault proxy refused: {body}"));
    }
    Ok(())
}

/// Makes stripe-sim lose the next `count` webhook deliveries of any type (0: none).
async fn drop_webhooks(stack: &Stack, count: u64) -> Result<(), String> {
    let (status, body) = post(
        format!("{}/_sim/webhook_drops", stack.sim_url),
        &json!({ "count": count }),
    )
    .await?;
    if status != 200 {
        return Err(format!("stripe-sim refused the webhook drops: {body}"));
    }
    Ok(())
}

/// How many deliveries stripe-sim has dropped so far.
async fn dropped_deliveries(stack: &Stack) -> Result<usize, String> {
    let drops: Value = reqwest::get(format!("{}/_sim/webhook_drops", stack.sim_url))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    Ok(drops["dropped"].as_array().map_or(0, Vec::len))
}

/// stripe-sim's faults: how many hits they have left (each started at 1 000 000).
async fn stripe_faults_hit(stack: &Stack) -> u64 {
    let listed: Value = match reqwest::get(format!("{}/_sim/faults", stack.sim_url)).await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(_) => return 0,
    };
    let faults = listed
        .get("data")
        .and_then(Value::as_array)
        .or(listed.as_array())
        .cloned()
        .unwrap_or_default();
    faults
        .iter()
        .filter_map(|f| f["remaining"].as_u64())
        .map(|left| 1_000_000 - left)
        .sum()
}

/// Purchases until `plan.purchases` checkouts completed (a finalize that declines, e.g.
/// under throttling, is a buyer told no, not a purchase). Each round is awaited whole, so
/// no purchase is still in flight when the run stops counting.
async fn purchase(
    stack: &Stack,
    plan: &FaultPlan,
    count: usize,
    lost: bool,
    report: &mut FaultReport,
) -> Result<Vec<String>, String> {
    let url = format!("{}/_sim/agentic_checkouts", stack.sim_url);
    let mut sessions = Vec::new();
    for _round in 0..5 {
        let wanted = count - sessions.len();
        if wanted == 0 {
            break;
        }
        let answers: Vec<Result<(u16, Value), String>> = futures::stream::iter(0..wanted)
            .map(|_| {
                let url = url.clone();
                async move {
                    post(
                        url,
                        &json!({"account": SHOP, "sku": SKU, "quantity": 1, "unit_amount": 1500,
                        // A lost purchase answers only once its deliveries were
                        // attempted (and dropped), so none is still pending after.
                        "wait_for_delivery": lost}),
                    )
                    .await
                }
            })
            .buffer_unordered(plan.clients.max(1))
            .collect()
            .await;
        for answer in answers {
            report.attempts += 1;
            let (status, body) = answer?;
            match status {
                200 => {
                    let session = body["checkout_session"]["id"]
                        .as_str()
                        .ok_or("a completed checkout without a session")?;
                    sessions.push(session.to_string());
                }
                402 | 424 => report.declined += 1,
                other => {
                    return Err(format!("stripe-sim answered {other} to a purchase: {body}"));
                }
            }
        }
    }
    if sessions.len() < count {
        return Err(format!(
            "only {} of {count} purchases completed ({} attempts so far)",
            sessions.len(),
            report.attempts
        ));
    }
    Ok(sessions)
}

/// Waits until `check` says done, or the plan's time is up (then its last word).
async fn settle<F, Fut>(within: Duration, what: &str, mut check: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, String>>,
{
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < within {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(format!("{what} did not happen within {within:?} {last}"))
}

pub async fn run(stack: &Stack, plan: &FaultPlan) -> Result<FaultReport, String> {
    let started = Instant::now();
    let mut report = FaultReport::default();
    let stock = (plan.purchases * 4) as i64;
    seed_shop(stack, stock).await?;
    faults_on(stack, plan).await?;
    drop_feeds(stack, plan.uploads).await?;
    let kept = plan.purchases - plan.lost_purchases;
    let mut sessions = purchase(stack, plan, kept, false, &mut report).await?;
    if plan.lost_purchases > 0 {
        // Every webhook of these purchases is lost: stripe-sim sends nothing meanwhile.
        drop_webhooks(stack, 10_000).await?;
        let lost = purchase(stack, plan, plan.lost_purchases, true, &mut report).await;
        report.deliveries_dropped = dropped_deliveries(stack).await?;
        drop_webhooks(stack, 0).await?;
        let lost = lost?;
        report.lost_sessions = lost.clone();
        sessions.extend(lost);
    }
    report.completed = sessions.len();

    // Every completed checkout ends as one order: by its webhook, its redeliveries, or the
    // reconciliation of what never arrived.
    let orders = DynamoOrders::new(stack.dynamo.clone(), stack.table("OrdersTable"));
    let wanted: HashSet<&str> = sessions.iter().map(String::as_str).collect();
    settle(plan.settle_within, "an order for every purchase", || {
        let (orders, wanted) = (&orders, &wanted);
        async move {
            let stored = orders
                .list(SHOP, wanted.len() * 2 + 10)
                .await
                .map_err(|e| e.to_string())?;
            let found = stored
                .iter()
                .filter(|o| wanted.contains(o.checkout_session_id.as_str()))
                .count();
            Ok(found == wanted.len())
        }
    })
    .await?;
    let stored = orders
        .list(SHOP, wanted.len() * 2 + 10)
        .await
        .map_err(|e| e.to_string())?;
    report.orders = stored.len();
    if let Some(stray) = stored
        .iter()
        .find(|o| !wanted.contains(o.checkout_session_id.as_str()))
    {
        return Err(format!(
            "an order for a checkout that did not complete: {}",
            stray.checkout_session_id
        ));
    }

    // Every upload ends as one finished import, and its feed is free again (the slot is
    // freed just after the import is recorded, so both are waited for).
    let catalog = DynamoCatalog::new(stack.dynamo.clone(), stack.table("CatalogTable"));
    settle(
        plan.settle_within,
        "a finished import and a free feed for every upload",
        || {
            let catalog = &catalog;
            async move {
                for i in 0..plan.uploads {
                    let account = feed_merchant(i);
                    let imports = catalog
                        .imports(&account, 10)
                        .await
                        .map_err(|e| e.to_string())?;
                    if !imports.iter().any(|r| r.status.is_terminal()) {
                        return Ok(false);
                    }
                    let slot = catalog
                        .slot(&account, shared::imports::Feed::Product)
                        .await
                        .map_err(|e| e.to_string())?;
                    if let Some(slot) =
                        slot.filter(|s| s.in_flight.is_some() || !s.queue.is_empty())
                    {
                        return Err(format!("{account}'s feed is still busy: {slot:?}"));
                    }
                }
                Ok(true)
            }
        },
    )
    .await?;
    for i in 0..plan.uploads {
        let account = feed_merchant(i);
        let imports = catalog
            .imports(&account, 10)
            .await
            .map_err(|e| e.to_string())?;
        report.imports_per_feed_merchant.push(imports.len());
        if imports.iter().any(|r| {
            matches!(
                r.status,
                ImportStatus::Succeeded | ImportStatus::SucceededWithErrors
            )
        }) {
            report.uploads_finished += 1;
        }
    }

    // Stock: what left the shelf is exactly what the orders sold, whatever was retried.
    let record = catalog
        .sku(SHOP, SKU)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the SKU record is gone")?;
    report.units_sold = stock - record.available.unwrap_or(0) - record.held.unwrap_or(0);

    report.stripe_faults_hit = stripe_faults_hit(stack).await;
    if let Some(proxy) = &stack.faults {
        report.dynamo_faults = reqwest::get(proxy.control_url())
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .unwrap_or(Value::Null);
    }
    let total = |metric: &str| -> f64 {
        let totals = stack.metrics.snapshot();
        totals
            .iter()
            .filter(|t| t.metric == metric)
            .map(|t| t.sum)
            .sum()
    };
    // The orders of the purchases whose webhooks all got lost can only have been recorded
    // by reconciliation: its count must cover them (read once its metric lines are in).
    let lost = report.lost_sessions.len() as f64;
    let _ = settle(
        Duration::from_secs(30),
        "reconciliation's count",
        || async { Ok(total("OrdersReconciled") >= lost) },
    )
    .await;
    report.reconciled = total("OrdersReconciled");
    report.fallbacks = total("HookFallback");
    report.panics = stack.panics_in_logs();
    report.elapsed = started.elapsed();
    Ok(report)
}
