//! The scale run (issue 13's acceptance), shared by `tests/scale_e2e.rs` (200 merchants,
//! in `make test`) and `benches/scale.rs` (`make bench-scale`, 10 000 by default): N
//! merchants registered, each dropping a small feed at once, through the local stack
//! (S3 intake, the feed queue and its bounded consumers, the tick) against stripe-sim with
//! Stripe's live-mode rate limits on. Measured, never assumed: the time until every import
//! is terminal (read back from DynamoDB), what stripe-sim saw (request rates, 429s), the
//! Lambda invocations and their billed time, the DynamoDB capacity DynamoDB reports
//! (`ReturnConsumedCapacity`, through the metering proxy) and the S3 and SQS requests the
//! functions made (a counting proxy in front of the emulator).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::StreamExt;
use local_stack::Stack;
use serde_json::{Value, json};
use shared::merchants::{ApiGeneration, Merchant, ValidationMode};
use shared::store::MerchantAdmin;
use shared::store::dynamo::DynamoMerchants;

#[derive(Debug, Clone)]
pub struct ScalePlan {
    pub merchants: usize,
    /// Files put into S3 at once.
    pub drop_concurrency: usize,
    /// How long every import may take to be terminal.
    pub settle_within: Duration,
}

/// What one function did during the run.
#[derive(Debug, Clone, Default)]
pub struct FunctionUse {
    pub invocations: u64,
    pub billed: Duration,
    pub memory_mb: u64,
}

impl FunctionUse {
    pub fn gb_seconds(&self) -> f64 {
        self.billed.as_secs_f64() * self.memory_mb as f64 / 1024.0
    }
}

#[derive(Debug, Default)]
pub struct ScaleReport {
    pub merchants: usize,
    /// From the first file put until DynamoDB shows every import terminal.
    pub to_terminal: Duration,
    /// Imports by status, read back from the Catalog table.
    pub imports: BTreeMap<String, usize>,
    /// stripe-sim's `/_sim/stats` over the run.
    pub stripe: Value,
    pub functions: BTreeMap<String, FunctionUse>,
    pub dynamo_read_units: f64,
    pub dynamo_write_units: f64,
    pub dynamo_requests: u64,
    /// The functions' S3 (`HttpGet`, `HttpPut`, …) and SQS (`SendMessageBatch`, …) requests.
    pub aws_requests: BTreeMap<String, u64>,
    pub panics: Vec<String>,
}

/// Stripe's live-mode limits (docs/stripe.md 7.11), which stripe-sim enforces in the run.
pub const LIVE_GLOBAL_PER_SECOND: u64 = 100;
pub const LIVE_FILES_PER_SECOND: u64 = 20;

/// AWS list prices (us-east-1, read from the AWS pricing pages in 2026; arm64 Lambda):
/// what the measured counts cost.
pub mod prices {
    pub const LAMBDA_GB_SECOND: f64 = 0.000_013_333_4;
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    pub const DYNAMODB_WRITE_UNIT: f64 = 0.625 / 1e6;
    pub const DYNAMODB_READ_UNIT: f64 = 0.125 / 1e6;
    pub const S3_PUT_LIST: f64 = 0.005 / 1e3;
    pub const S3_GET: f64 = 0.0004 / 1e3;
    pub const SQS_REQUEST: f64 = 0.40 / 1e6;
    /// EventBridge custom events (the import nudges and order events).
    pub const EVENTBRIDGE_EVENT: f64 = 1.00 / 1e6;
}

impl ScaleReport {
    /// What went wrong, if anything: every import terminal and succeeded, nothing over
    /// Stripe's limits, no 429, no panic.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let terminal: usize = self.imports.values().sum();
        if terminal != self.merchants {
            problems.push(format!(
                "{terminal} imports of {} merchants ({:?})",
                self.merchants, self.imports
            ));
        }
        if self.imports.get("succeeded").copied().unwrap_or(0) != self.merchants {
            problems.push(format!("not every import succeeded: {:?}", self.imports));
        }
        let stat = |name: &str| self.stripe[name].as_u64().unwrap_or(u64::MAX);
        if stat("rate_limited") != 0 {
            problems.push(format!("stripe-sim answered {} 429s", stat("rate_limited")));
        }
        if stat("peak_per_second") > LIVE_GLOBAL_PER_SECOND {
            problems.push(format!(
                "{} requests in one second, over {LIVE_GLOBAL_PER_SECOND}",
                stat("peak_per_second")
            ));
        }
        if stat("peak_files_per_second") > LIVE_FILES_PER_SECOND {
            problems.push(format!(
                "{} Files API requests in one second, over {LIVE_FILES_PER_SECOND}",
                stat("peak_files_per_second")
            ));
        }
        if !self.panics.is_empty() {
            problems.push(format!("panics: {:?}", self.panics));
        }
        problems
    }

    fn aws(&self, name: &str) -> u64 {
        self.aws_requests.get(name).copied().unwrap_or(0)
    }

    /// The AWS cost of one upload, from the measured counts (the run's whole cost over its
    /// merchants, each of which uploaded once).
    pub fn cost_per_upload(&self) -> f64 {
        let n = self.merchants.max(1) as f64;
        let lambda: f64 = self
            .functions
            .values()
            .map(|f| {
                f.gb_seconds() * prices::LAMBDA_GB_SECOND
                    + f.invocations as f64 * prices::LAMBDA_REQUEST
            })
            .sum();
        let dynamo = self.dynamo_write_units * prices::DYNAMODB_WRITE_UNIT
            + self.dynamo_read_units * prices::DYNAMODB_READ_UNIT;
        let s3 = (self.aws("HttpPut") + self.aws("HttpPost") + self.aws("HttpDelete")) as f64
            * prices::S3_PUT_LIST
            + (self.aws("HttpGet") + self.aws("HttpHead")) as f64 * prices::S3_GET;
        let events = self.aws("PutEvents");
        let sqs: u64 = self
            .aws_requests
            .iter()
            .filter(|(name, _)| !name.starts_with("Http") && name.as_str() != "PutEvents")
            .map(|(_, n)| *n)
            .sum();
        // The run's only events are import nudges, and the rule delivers each to the feed
        // queue: one more SQS request apiece, made by EventBridge, so the proxy misses it.
        let messages =
            (sqs + events) as f64 * prices::SQS_REQUEST + events as f64 * prices::EVENTBRIDGE_EVENT;
        (lambda + dynamo + s3 + messages) / n
    }

    pub fn print(&self) {
        let s = &self.stripe;
        println!("scale run: {} merchants, one feed each", self.merchants);
        println!(
            "  every import terminal   {:.1} s  {:?}",
            self.to_terminal.as_secs_f64(),
            self.imports
        );
        println!(
            "  stripe-sim              {} requests, {} 429s; peak {} /s (reads {}, writes {}, files {}); mean {:.1} /s",
            s["requests"],
            s["rate_limited"],
            s["peak_per_second"],
            s["peak_reads_per_second"],
            s["peak_writes_per_second"],
            s["peak_files_per_second"],
            s["mean_per_second"].as_f64().unwrap_or(0.0)
        );
        if let Some(endpoints) = s["by_endpoint"].as_object() {
            for (endpoint, count) in endpoints {
                println!("      {endpoint:<52} {count}");
            }
        }
        for (name, f) in &self.functions {
            println!(
                "  lambda {:<26} {:>7} invocations, {:>9.1} s billed, {:>9.1} GB-s",
                name,
                f.invocations,
                f.billed.as_secs_f64(),
                f.gb_seconds()
            );
        }
        println!(
            "  dynamodb                {} requests, {:.1} read units, {:.1} write units ({:.2} WCU and {:.2} RCU per merchant)",
            self.dynamo_requests,
            self.dynamo_read_units,
            self.dynamo_write_units,
            self.dynamo_write_units / self.merchants.max(1) as f64,
            self.dynamo_read_units / self.merchants.max(1) as f64
        );
        println!("  s3, sqs, events        {:?}", self.aws_requests);
        let per_upload = self.cost_per_upload();
        println!(
            "  AWS cost                ${:.7} per upload; a merchant uploading daily ${:.5}/month, every 15 minutes ${:.4}/month",
            per_upload,
            per_upload * 30.0,
            per_upload * 96.0 * 30.0
        );
        println!("  panics                  {}", self.panics.len());
    }
}

async fn post(url: String, body: &Value) -> Result<Value, String> {
    let response = reqwest::Client::new()
        .post(&url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!("{url} answered {}", response.status()));
    }
    response.json().await.map_err(|e| e.to_string())
}

pub fn merchant_id(i: usize) -> String {
    format!("acct_1Scale{i:06}")
}

/// A small catalog: two products.
fn catalog(i: usize) -> String {
    format!(
        "id,title,description,link,image_link,brand,mpn,product_category,availability,inventory_quantity,price\n\
         S{i}-A,Mug,A fine mug,https://shop{i}.example/p/A,https://shop{i}.example/i/A.jpg,Acme,MPN-A,Home > Kitchen,in_stock,5,18.00 USD\n\
         S{i}-B,Bowl,A fine bowl,https://shop{i}.example/p/B,https://shop{i}.example/i/B.jpg,Acme,MPN-B,Home > Kitchen,in_stock,3,25.00 USD\n"
    )
}

/// Every function's invocations and billed time so far.
fn function_use(stack: &Stack) -> BTreeMap<String, FunctionUse> {
    stack
        .functions
        .iter()
        .map(|(id, function)| {
            let instances = function.instances();
            (
                id.clone(),
                FunctionUse {
                    invocations: instances.iter().map(|i| i.invocations).sum(),
                    billed: instances.iter().map(|i| i.busy).sum(),
                    memory_mb: function.memory_mb(),
                },
            )
        })
        .collect()
}

/// Imports in the Catalog table by status (read straight from DynamoDB Local).
async fn imports_by_status(stack: &Stack) -> Result<BTreeMap<String, usize>, String> {
    let mut by_status = BTreeMap::new();
    let mut start = None;
    loop {
        let page = stack
            .dynamo
            .scan()
            .table_name(stack.table("CatalogTable"))
            .filter_expression("begins_with(sk, :import)")
            .expression_attribute_values(
                ":import",
                aws_sdk_dynamodb::types::AttributeValue::S("IMPORT#".into()),
            )
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
        for item in page.items() {
            let status = item
                .get("status")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_else(|| "(none)".into());
            *by_status.entry(status).or_insert(0) += 1;
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(by_status);
        }
    }
}

fn terminal(by_status: &BTreeMap<String, usize>) -> usize {
    [
        "succeeded",
        "succeeded_with_errors",
        "failed",
        "rejected",
        "superseded",
    ]
    .iter()
    .map(|s| by_status.get(*s).copied().unwrap_or(0))
    .sum()
}

/// Runs the plan on a started stack whose functions reach DynamoDB through its metering
/// proxy (`dynamodb_faults`) and S3/SQS through `aws_proxy`.
pub async fn run(
    stack: &Stack,
    aws_proxy: &dynamo_faults::FaultProxy,
    plan: &ScalePlan,
) -> Result<ScaleReport, String> {
    let dynamo_proxy = stack
        .faults
        .as_ref()
        .ok_or("the scale run meters DynamoDB through the proxy (dynamodb_faults)")?;
    post(
        format!("{}/_sim/rate_limits", stack.sim_url),
        &json!({"mode": "live"}),
    )
    .await?;

    let merchants = DynamoMerchants::new(stack.dynamo.clone(), stack.table("MerchantsTable"));
    let registered: Vec<Result<(), String>> = futures::stream::iter(0..plan.merchants)
        .map(|i| {
            let merchants = merchants.clone();
            async move {
                let mut merchant = Merchant::new(merchant_id(i));
                merchant.validation = ValidationMode::Lenient;
                merchant.api_generation = if i % 2 == 0 {
                    ApiGeneration::V1
                } else {
                    ApiGeneration::V2
                };
                merchants
                    .put_merchant(&merchant)
                    .await
                    .map_err(|e| e.to_string())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    registered
        .into_iter()
        .collect::<Result<Vec<()>, String>>()?;

    // Counted from here: the run's own setup is not the bundle's cost.
    post(format!("{}/_sim/stats/reset", stack.sim_url), &json!({})).await?;
    let dynamo_before = dynamo_proxy.stats();
    let aws_before = aws_proxy.stats();
    let use_before = function_use(stack);

    let started = Instant::now();
    let dropped: Vec<Result<(), String>> = futures::stream::iter(0..plan.merchants)
        .map(|i| async move {
            stack
                .s3
                .put_object()
                .bucket(&stack.bucket)
                .key(format!("incoming/{}/catalog/scale.csv", merchant_id(i)))
                .body(catalog(i).into_bytes().into())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| format!("putting a feed: {e}"))
        })
        .buffer_unordered(plan.drop_concurrency.max(1))
        .collect()
        .await;
    dropped.into_iter().collect::<Result<Vec<()>, String>>()?;

    let imports = loop {
        // The uploader's metric says when to look; DynamoDB says what happened.
        let finished = stack
            .metrics
            .sum("catalog-uploader", "ImportsFinished", &[]);
        if finished as usize >= plan.merchants {
            let imports = imports_by_status(stack).await?;
            if terminal(&imports) >= plan.merchants {
                break imports;
            }
        }
        if started.elapsed() > plan.settle_within {
            let imports = imports_by_status(stack).await?;
            return Err(format!(
                "after {:.0} s only {} of {} imports are terminal ({imports:?}); stripe-sim: {}",
                started.elapsed().as_secs_f64(),
                terminal(&imports),
                plan.merchants,
                stripe_stats(stack).await.unwrap_or_default()
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let to_terminal = started.elapsed();

    let dynamo_after = dynamo_proxy.stats();
    let aws_after = aws_proxy.stats();
    let use_after = function_use(stack);
    let functions = use_after
        .into_iter()
        .map(|(id, after)| {
            let before = use_before.get(&id).cloned().unwrap_or_default();
            (
                id,
                FunctionUse {
                    invocations: after.invocations - before.invocations,
                    billed: after.billed.saturating_sub(before.billed),
                    memory_mb: after.memory_mb,
                },
            )
        })
        .collect();
    let aws_requests = aws_after
        .operations
        .iter()
        .map(|(name, after)| {
            let before = aws_before.operations.get(name).map_or(0, |c| c.requests);
            (name.clone(), after.requests - before)
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    Ok(ScaleReport {
        merchants: plan.merchants,
        to_terminal,
        imports,
        stripe: stripe_stats(stack).await?,
        functions,
        dynamo_read_units: (dynamo_after.read_milli_units - dynamo_before.read_milli_units) as f64
            / 1000.0,
        dynamo_write_units: (dynamo_after.write_milli_units - dynamo_before.write_milli_units)
            as f64
            / 1000.0,
        dynamo_requests: dynamo_after.total.requests - dynamo_before.total.requests,
        aws_requests,
        panics: stack.panics_in_logs(),
    })
}

async fn stripe_stats(stack: &Stack) -> Result<Value, String> {
    reqwest::get(format!("{}/_sim/stats", stack.sim_url))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())
}

/// Starts a local stack for the run: the functions reach DynamoDB through the metering
/// proxy and S3 and SQS through a counting one; `tick_seconds` apart ticks.
pub async fn start_stack(
    root: &std::path::Path,
    bin_dir: std::path::PathBuf,
    concurrency: usize,
) -> Result<(Stack, dynamo_faults::FaultProxy), String> {
    let dynamodb_endpoint = std::env::var("DYNAMODB_ENDPOINT")
        .map_err(|_| "DYNAMODB_ENDPOINT is not set: run with `make test` / `make bench-scale`")?;
    let s3_endpoint = std::env::var("S3_ENDPOINT")
        .map_err(|_| "S3_ENDPOINT is not set: run with `make test` / `make bench-scale`")?;
    let aws_proxy = dynamo_faults::FaultProxy::start(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        &s3_endpoint,
    )
    .await
    .map_err(|e| format!("the counting proxy cannot listen: {e}"))?;
    let options = local_stack::boot::Options {
        function_env: vec![
            // stripe-sim enforces live-mode limits in the run; the uploader paces to them.
            ("STRIPE_RATE_LIMITS".into(), "live".into()),
            ("S3_ENDPOINT".into(), aws_proxy.url()),
            ("SQS_ENDPOINT".into(), aws_proxy.url()),
            ("ORDER_EVENTS_ENDPOINT".into(), aws_proxy.url()),
        ],
        // Its pass lists every merchant's sessions: at the template's 15 minutes, not
        // every tick (what a merchant's upload costs is measured alone).
        template_rates_for: vec!["OrderReconcilerFunction".into()],
        ..local_stack::boot::Options::ephemeral(
            root,
            bin_dir,
            "acb-scale",
            dynamodb_endpoint,
            s3_endpoint,
            concurrency,
        )?
    };
    let stack = local_stack::boot::start(&options).await?;
    Ok((stack, aws_proxy))
}
