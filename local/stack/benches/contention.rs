//! Acceptance load harness (`make bench-contention`): many agents buying the last units of
//! one SKU at once must never sell more than the stock.
//!
//! It starts the local stack in-process, as `make run` does (template tables, the real
//! release `finalize-checkout` binary behind the local Lambda service with up to
//! BENCH_CONCURRENCY instances, the HTTP API, the DynamoDB fault proxy in front of
//! DynamoDB Local), registers a merchant with one SKU of BENCH_STOCK units, and fires
//! BENCH_REQUESTS signed `finalize_checkout` requests (distinct request ids, one unit each)
//! from BENCH_CLIENTS concurrent clients at the finalize route. Twice: with DynamoDB as it
//! is, then with the proxy throttling BENCH_THROTTLE_PERCENT of every DynamoDB call.
//!
//! Reported per run: approvals, declines (out of stock), fallbacks (the merchant's
//! fail-closed answer when the store did not answer in time, from the function's
//! `HookFallback` metric), other errors, p50/p99 latency at the client, instances used, and
//! the SKU's stock read back from DynamoDB. Exit status 1 if a run approved more than the
//! stock, or approved a checkout no hold backs (stock sold without a reservation).
//!
//! Needs DYNAMODB_ENDPOINT and S3_ENDPOINT (the make target starts both) and the release
//! binaries (`cargo build --release --workspace --bins`; BENCH_BIN_DIR to use others).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dynamo_faults::Faults;
use local_stack::Stack;
use local_stack::boot::{self, Options};
use sample_events::fixtures::TEST_HOOK_SECRET;
use serde_json::{Value, json};
use shared::merchants::Merchant;
use shared::skus::{Availability, SkuChange, SkuRecord};
use shared::store::dynamo::{DynamoCatalog, DynamoMerchants};
use shared::store::{MerchantAdmin, SkuRecords};

const SKU: &str = "BENCH-LAST-UNITS";
const FUNCTION: &str = "FinalizeCheckoutFunction";
const METRIC_FUNCTION: &str = "finalize-checkout";

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one request got.
struct Sample {
    elapsed: Duration,
    status: u16,
    decision: Option<String>,
}

struct Run {
    label: String,
    stock: i64,
    requests: usize,
    approved: usize,
    declined: usize,
    fallbacks: f64,
    fallback_approvals: f64,
    errors: usize,
    p50: Duration,
    p99: Duration,
    wall: Duration,
    instances_used: usize,
    instances_started: usize,
    available: Option<i64>,
    held: Option<i64>,
    throttled: u64,
}

impl Run {
    /// Stock sold beyond what there was, or without a hold behind it.
    fn oversold(&self) -> bool {
        self.approved as i64 > self.stock
            || self.available.is_some_and(|a| a < 0)
            || (self.approved as i64) > self.held.unwrap_or(0)
    }

    fn print(&self) {
        println!("\n{}", self.label);
        println!(
            "  requests        {} from {} clients in {:.1}s",
            self.requests,
            setting("BENCH_CLIENTS", 16usize),
            self.wall.as_secs_f64()
        );
        println!(
            "  approved        {} (stock {}){}",
            self.approved,
            self.stock,
            if self.oversold() { "  OVERSOLD" } else { "" }
        );
        println!(
            "  declined        {} (of which fallbacks {}: the store did not answer in time, fail-closed)",
            self.declined, self.fallbacks
        );
        println!(
            "  fallback approvals {} (fail-open; 0 for this fail-closed merchant)",
            self.fallback_approvals
        );
        println!("  other answers   {} (not 200)", self.errors);
        println!(
            "  latency         p50 {:.1} ms, p99 {:.1} ms (client side, HTTP API to answer)",
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3
        );
        println!(
            "  instances       {} used of {} started",
            self.instances_used, self.instances_started
        );
        println!(
            "  stock after     available {}, held {} (read back from DynamoDB)",
            self.available.map_or("-".into(), |v| v.to_string()),
            self.held.map_or("-".into(), |v| v.to_string())
        );
        println!(
            "  DynamoDB calls throttled by the proxy: {}",
            self.throttled
        );
    }
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * q).ceil() as usize)
        .saturating_sub(1)
        .min(sorted.len() - 1)]
}

fn finalize_request(account: &str, id: &str, session: &str) -> Value {
    let item = json!({"id": "li_1", "sku_id": SKU, "name": "Last units", "quantity": 1, "unit_amount": 1500, "amount_subtotal": 1500, "amount_total": 1500});
    let address = json!({"line1": "1 Market St", "city": "San Francisco", "state": "CA", "postal_code": "94105", "country": "US"});
    json!({"type": "v1.delegated_checkout.finalize_checkout", "id": id, "livemode": false, "context": account,
        "data": {"currency": "usd", "checkout_session": session, "line_items_details": [item],
            "payment_method_details": {"type": "card", "card": {"funding": "credit"}},
            "shipping_details": {"address": address}, "amount_total": 1500}})
}

async fn seed(stack: &Stack, account: &str, stock: i64) -> Result<(), String> {
    let mut merchant = Merchant::new(account);
    // Fail-closed (the default): a checkout the store cannot confirm is declined.
    merchant.checkout = testkit::demo_checkout_settings();
    DynamoMerchants::new(stack.dynamo.clone(), stack.table("MerchantsTable"))
        .put_merchant(&merchant)
        .await
        .map_err(|e| e.to_string())?;
    DynamoCatalog::new(stack.dynamo.clone(), stack.table("CatalogTable"))
        .apply_sku_changes(
            account,
            "bench",
            0,
            &[SkuChange::Replace(SkuRecord {
                account_id: account.into(),
                sku: SKU.into(),
                title: None,
                availability: Availability::InStock,
                quantity: Some(stock),
                available: Some(stock),
                held: None,
                price: None,
                shipping: vec![],
                shipping_cost_basis: None,
                source_import: "bench".into(),
                updated_at: 0,
                product_import: None,
            })],
        )
        .await
        .map_err(|e| e.to_string())
}

async fn fire(
    stack: &Stack,
    account: &str,
    tag: &str,
    requests: usize,
    clients: usize,
) -> Vec<Sample> {
    let url = format!("{}/stripe/hooks/finalize_checkout", stack.api_url);
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("an HTTP client");
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (http, url, next) = (http.clone(), url.clone(), next.clone());
        let (account, tag) = (account.to_string(), tag.to_string());
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= requests {
                    return samples;
                }
                let body = finalize_request(
                    &account,
                    &format!("req_{tag}_{i}"),
                    &format!("cs_test_{tag}_{i}"),
                )
                .to_string();
                let header = shared::signature::sign_header(
                    body.as_bytes(),
                    &[TEST_HOOK_SECRET],
                    testkit::now_seconds(),
                );
                let started = Instant::now();
                let answer = http
                    .post(&url)
                    .header("stripe-signature", header)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let (status, body) = match answer {
                    Ok(r) => {
                        let status = r.status().as_u16();
                        (status, r.json::<Value>().await.unwrap_or(Value::Null))
                    }
                    Err(_) => (0, Value::Null),
                };
                samples.push(Sample {
                    elapsed: started.elapsed(),
                    status,
                    decision: body["manual_approval_details"]["type"]
                        .as_str()
                        .map(str::to_string),
                });
            }
        }));
    }
    let mut samples = Vec::with_capacity(requests);
    for worker in workers {
        samples.extend(worker.await.unwrap_or_default());
    }
    samples
}

/// The function's metrics arrive on its stdout just after its answers: wait (bounded)
/// until it has counted as many answers as the clients got.
async fn settled_metrics(stack: &Stack, before: f64, answered: usize) {
    let limit = Instant::now() + Duration::from_secs(30);
    while Instant::now() < limit {
        let counted = stack
            .metrics
            .sum(METRIC_FUNCTION, "HookDecision", &[("Hook", "finalize")])
            + stack
                .metrics
                .sum(METRIC_FUNCTION, "HookRejected", &[("Hook", "finalize")]);
        if counted - before >= answered as f64 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("  ! the function's metrics did not account for every answer within 30 s");
}

async fn run(stack: &Stack, label: &str, tag: &str, faults: Option<Faults>) -> Result<Run, String> {
    let requests = setting("BENCH_REQUESTS", 500usize);
    let clients = setting("BENCH_CLIENTS", 16usize).max(1);
    let stock = setting("BENCH_STOCK", 100i64);
    let account = format!("acct_1Bench{tag}{:08x}", fastrand::u32(..));
    seed(stack, &account, stock).await?;
    let function = stack
        .function(FUNCTION)
        .ok_or(format!("the template has no {FUNCTION}"))?;
    let proxy = stack
        .faults
        .as_ref()
        .ok_or("the fault proxy is not running")?;
    let invocations_before: Vec<u64> = function.instances().iter().map(|i| i.invocations).collect();
    let metric = |name: &str, filter: &[(&str, &str)]| {
        let mut f = vec![("Hook", "finalize")];
        f.extend_from_slice(filter);
        stack.metrics.sum(METRIC_FUNCTION, name, &f)
    };
    let answers_before = metric("HookDecision", &[]) + metric("HookRejected", &[]);
    let fallbacks_before = metric("HookFallback", &[]);
    let fallback_approvals_before = metric("HookFallback", &[("Decision", "approved_unreserved")]);
    let throttled_before = proxy.stats().total.throttled;
    if let Some(faults) = faults {
        proxy.set(faults)?;
    }

    let started = Instant::now();
    let samples = fire(stack, &account, tag, requests, clients).await;
    let wall = started.elapsed();
    proxy.clear();

    let answered = samples.iter().filter(|s| s.status == 200).count();
    settled_metrics(stack, answers_before, answered).await;
    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.elapsed).collect();
    latencies.sort();
    let instances = function.instances();
    let instances_used = instances
        .iter()
        .filter(|i| i.invocations > invocations_before.get(i.id).copied().unwrap_or(0))
        .count();
    let sku = DynamoCatalog::new(stack.dynamo.clone(), stack.table("CatalogTable"))
        .skus(&account, &[SKU.to_string()])
        .await
        .map_err(|e| e.to_string())?
        .remove(SKU);
    Ok(Run {
        label: label.to_string(),
        stock,
        requests: samples.len(),
        approved: samples
            .iter()
            .filter(|s| s.status == 200 && s.decision.as_deref() == Some("approved"))
            .count(),
        declined: samples
            .iter()
            .filter(|s| s.status == 200 && s.decision.as_deref() == Some("declined"))
            .count(),
        fallbacks: metric("HookFallback", &[]) - fallbacks_before,
        fallback_approvals: metric("HookFallback", &[("Decision", "approved_unreserved")])
            - fallback_approvals_before,
        errors: samples.iter().filter(|s| s.status != 200).count(),
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        wall,
        instances_used,
        instances_started: instances.len(),
        available: sku.as_ref().and_then(|s| s.available),
        held: sku.as_ref().and_then(|s| s.held),
        throttled: proxy.stats().total.throttled - throttled_before,
    })
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// target/release, where this bench's own executable (target/release/deps/…) lives.
fn release_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(PathBuf::from))
        .unwrap_or_else(|| repo_root().join("target/release"))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // `cargo bench` runs benches from the package directory; the stack reads the
    // template and its scripts from the repository root.
    let root = std::fs::canonicalize(repo_root()).expect("the repository root");
    std::env::set_current_dir(&root).expect("cd to the repository root");
    let (Ok(dynamodb_endpoint), Ok(s3_endpoint)) = (
        std::env::var("DYNAMODB_ENDPOINT"),
        std::env::var("S3_ENDPOINT"),
    ) else {
        eprintln!(
            "error: DYNAMODB_ENDPOINT and S3_ENDPOINT are needed: run `make bench-contention`"
        );
        return std::process::ExitCode::FAILURE;
    };
    let bin_dir = std::env::var("BENCH_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| release_dir());
    let concurrency = setting("BENCH_CONCURRENCY", 8usize);
    let throttle = setting("BENCH_THROTTLE_PERCENT", 10f64);
    let options = match Options::ephemeral(
        &root,
        bin_dir.clone(),
        "acb-bench",
        dynamodb_endpoint,
        s3_endpoint,
        concurrency,
    ) {
        // The template's schedule (1 minute): the uploader stays out of the way.
        Ok(options) => Options {
            tick_seconds: 0,
            ..options
        },
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "contention: the release binaries in {}, up to {concurrency} instances per function",
        bin_dir.display()
    );
    let stack = match boot::start(&options).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("error: the local stack did not start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let runs = [
        ("DynamoDB Local as is".to_string(), "plain", None),
        (
            format!("DynamoDB throttling {throttle}% of every call (fault proxy)"),
            "throttled",
            Some(Faults {
                throttle_percent: throttle,
                ..Faults::default()
            }),
        ),
    ];
    let mut oversold = false;
    for (label, tag, faults) in runs {
        match run(&stack, &label, tag, faults).await {
            Ok(result) => {
                result.print();
                oversold |= result.oversold();
            }
            Err(e) => {
                eprintln!("error: {label}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    println!("\nmetrics of the whole bench (the functions' EMF lines, summed):");
    for line in stack.metrics.lines() {
        println!("  {line}");
    }
    println!("logs: {}", options.run_dir.display());
    if oversold {
        eprintln!("FAILED: more approvals than stock, or approvals without a hold");
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
