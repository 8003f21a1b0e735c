//! The demo scenario `make run` plays against the running stack, step by step, each with
//! the `acb` command an operator would type. Every check reads DynamoDB and S3 directly, and
//! the closing summary is read back from them too, never from what a step expected.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::agreements::Agreement;
use shared::imports::keys::report_key;
use shared::imports::model::{ImportRecord, ImportStatus};
use shared::merchants::Merchant;
use shared::money::money;
use shared::orders::Order;
use shared::store::dynamo::{DynamoAgreements, DynamoCatalog, DynamoMerchants, DynamoOrders};
use shared::store::{AgreementStore, ImportLog, MerchantDirectory, OrderStore};

use crate::Stack;

pub const ACCOUNT: &str = "acct_1LocalDemoShop";
const SKU: &str = "DEMO-MUG";
const QUANTITY: u32 = 2;
const UNIT_AMOUNT: i64 = 1800;
const REFUND_AMOUNT: i64 = 500;
const AGENT_NAME: &str = "Demo Agent";
const CATALOG_FILE: &str = "catalog.csv";

type StepResult = Result<String, String>;

/// What the steps learned, for the steps after them.
#[derive(Default)]
struct Progress {
    catalog_key: Option<String>,
    agreement_id: Option<String>,
    checkout_session: Option<String>,
}

/// Polls `check` until it gives a value or `limit` passes; the error says what was last seen.
async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut check: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, String>>,
{
    let started = Instant::now();
    let mut last = String::from("nothing yet");
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(seen) => last = seen,
        }
        if started.elapsed() > limit {
            return Err(format!(
                "{what} did not happen within {}s (last seen: {last})",
                limit.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

struct Player<'a> {
    stack: &'a Stack,
    progress: Progress,
}

impl Player<'_> {
    /// Runs `acb` with the stack's environment, showing the command first.
    async fn acb(&self, args: &[&str]) -> Result<String, String> {
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("'{a}'")
                } else {
                    a.to_string()
                }
            })
            .collect();
        println!("    $ acb {}", shown.join(" "));
        let output = tokio::process::Command::new(self.stack.bin_dir.join("acb"))
            .args(args)
            .envs(&self.stack.cli_env)
            .output()
            .await
            .map_err(|e| format!("running acb: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            return Err(format!(
                "acb {} failed ({}): {}",
                args.first().unwrap_or(&""),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(stdout)
    }

    async fn sim(&self, path: &str, body: &Value) -> Result<Value, String> {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.stack.sim_url))
            .json(body)
            .send()
            .await
            .map_err(|e| format!("stripe-sim did not answer {path}: {e}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!("stripe-sim answered {status} to {path}: {body}"));
        }
        Ok(body)
    }

    fn merchants(&self) -> DynamoMerchants {
        DynamoMerchants::new(
            self.stack.dynamo.clone(),
            self.stack.table("MerchantsTable"),
        )
    }
    fn catalog(&self) -> DynamoCatalog {
        DynamoCatalog::new(self.stack.dynamo.clone(), self.stack.table("CatalogTable"))
    }
    fn agreements(&self) -> DynamoAgreements {
        DynamoAgreements::new(
            self.stack.dynamo.clone(),
            self.stack.table("AgreementsTable"),
        )
    }
    fn orders(&self) -> DynamoOrders {
        DynamoOrders::new(self.stack.dynamo.clone(), self.stack.table("OrdersTable"))
    }

    /// Waits until the stored order of `session` passes `ready` (whose error says what the
    /// order shows instead).
    async fn wait_for_order(
        &self,
        session: &str,
        what: &str,
        ready: fn(&Order) -> Result<(), String>,
    ) -> Result<Order, String> {
        let orders = self.orders();
        wait_for(Duration::from_secs(30), what, || {
            let orders = &orders;
            async move {
                match orders
                    .get(ACCOUNT, session)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    Some(order) => ready(&order).map(|()| Some(order)),
                    None => Err("no order yet".into()),
                }
            }
        })
        .await
    }

    fn demo_file(&self, name: &str) -> String {
        self.stack.demo_dir.join(name).display().to_string()
    }

    async fn register_merchant(&mut self) -> StepResult {
        let settings = self.demo_file("checkout-settings.json");
        self.acb(&[
            "merchants",
            "put",
            ACCOUNT,
            "--name",
            "Demo Shop",
            "--enabled",
            "true",
            "--api",
            "v1",
            "--validation",
            "lenient",
            "--checkout-settings",
            &settings,
        ])
        .await?;
        let merchant = self
            .merchants()
            .merchant(ACCOUNT)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the merchant is not in the Merchants table")?;
        if !merchant.enabled || merchant.checkout.shipping_rules.is_empty() {
            return Err(format!(
                "the stored merchant is not what was put: {merchant:?}"
            ));
        }
        Ok(format!(
            "{} stored: enabled, {} shipping rule(s), {} tax rate(s)",
            ACCOUNT,
            merchant.checkout.shipping_rules.len(),
            merchant.checkout.tax_rates.len()
        ))
    }

    async fn import_catalog(&mut self) -> StepResult {
        let file = self.demo_file(CATALOG_FILE);
        let uploaded = self
            .acb(&[
                "catalog",
                "upload",
                &file,
                "--account",
                ACCOUNT,
                "--feed",
                "product",
                "--json",
            ])
            .await?;
        let uploaded: Value = serde_json::from_str(&uploaded)
            .map_err(|e| format!("acb catalog upload printed no JSON: {e}"))?;
        // The import of exactly this object version: earlier runs may have dropped the same key.
        let version = uploaded["version_id"].as_str().map(str::to_string);
        println!(
            "    (S3 notifies the uploader: it validates the file, uploads it to Stripe and records the import; the schedule polls it until Stripe is done)"
        );
        let key = format!("incoming/{ACCOUNT}/catalog/{CATALOG_FILE}");
        let catalog = self.catalog();
        let record: ImportRecord = wait_for(
            Duration::from_secs(120),
            "a finished import of the file",
            || {
                let catalog = &catalog;
                let key = &key;
                let version = &version;
                async move {
                    let imports = catalog
                        .imports(ACCOUNT, 20)
                        .await
                        .map_err(|e| e.to_string())?;
                    let ours = imports.into_iter().find(|r| {
                        r.sources
                            .iter()
                            .any(|s| &s.object.key == key && s.object.version_id == *version)
                    });
                    match ours {
                        Some(r) if r.status.is_terminal() => Ok(Some(r)),
                        Some(r) => Err(format!("import {:?}", r.status)),
                        None => Err("no import recorded yet".into()),
                    }
                }
            },
        )
        .await?;
        self.progress.catalog_key = Some(record.import_key.clone());
        if record.status != ImportStatus::SucceededWithErrors {
            return Err(format!(
                "the import ended {:?}, not succeeded_with_errors{}",
                record.status,
                record
                    .failure
                    .as_deref()
                    .map(|f| format!(": {f}"))
                    .unwrap_or_default()
            ));
        }
        let mut found = Vec::new();
        for report in ["validation.csv", "stripe-errors.csv"] {
            let key = report_key(ACCOUNT, CATALOG_FILE, report);
            let size = self.object_size(&key).await.ok_or(format!(
                "{report} is not in s3://{}/{key}",
                self.stack.bucket
            ))?;
            found.push(format!("{report} ({size} bytes)"));
        }
        Ok(format!(
            "succeeded_with_errors: {} rows, {} flagged by validation; Stripe accepted {}, rejected {}; reports: {}",
            record.counts.rows,
            record.counts.rows_with_errors,
            record.counts.stripe_successes.unwrap_or(0),
            record.counts.stripe_errors.unwrap_or(0),
            found.join(", ")
        ))
    }

    async fn object_size(&self, key: &str) -> Option<i64> {
        self.stack
            .s3
            .head_object()
            .bucket(&self.stack.bucket)
            .key(key)
            .send()
            .await
            .ok()
            .and_then(|o| o.content_length())
    }

    async fn confirm_agreement(&mut self) -> StepResult {
        println!(
            "    stripe-sim: {AGENT_NAME} proposes an agreement; the agent, then the merchant confirm it"
        );
        let created = self
            .sim(
                "/_sim/agreements",
                &json!({"account": ACCOUNT, "orchestrator_name": AGENT_NAME, "confirm": "both", "wait_for_delivery": true}),
            )
            .await?;
        let id = created["agreement"]["id"]
            .as_str()
            .ok_or("stripe-sim returned no agreement id")?
            .to_string();
        self.progress.agreement_id = Some(id.clone());
        let store = self.agreements();
        let agreement: Agreement =
            wait_for(Duration::from_secs(30), "the confirmed agreement", || {
                let store = &store;
                let id = &id;
                async move {
                    match store
                        .agreement(ACCOUNT, id)
                        .await
                        .map_err(|e| e.to_string())?
                    {
                        Some(a) if a.is_confirmed() => Ok(Some(a)),
                        Some(a) => Err(format!("status {}", a.status)),
                        None => Err("not stored yet".into()),
                    }
                }
            })
            .await?;
        Ok(format!(
            "{} with {}: confirmed ({} thin events delivered to /stripe/events)",
            agreement.agreement_id,
            agreement.orchestrator_name.as_deref().unwrap_or("?"),
            created["events"].as_array().map_or(0, Vec::len)
        ))
    }

    async fn purchase(&mut self) -> StepResult {
        let output = self
            .acb(&[
                "simulate",
                "purchase",
                "--account",
                ACCOUNT,
                "--sku",
                SKU,
                "--quantity",
                &QUANTITY.to_string(),
                "--unit-amount",
                &UNIT_AMOUNT.to_string(),
                "--json",
            ])
            .await?;
        let answer: Value = serde_json::from_str(&output)
            .map_err(|e| format!("acb simulate purchase printed no JSON: {e}"))?;
        let session = answer["checkout_session"]["id"]
            .as_str()
            .ok_or("stripe-sim returned no checkout session")?
            .to_string();
        self.progress.checkout_session = Some(session.clone());
        let calls: Value = reqwest::Client::new()
            .get(format!("{}/_sim/hook_calls", self.stack.sim_url))
            .query(&[("checkout_session", session.as_str())])
            .send()
            .await
            .map_err(|e| format!("stripe-sim hook calls: {e}"))?
            .json()
            .await
            .map_err(|e| format!("stripe-sim hook calls: {e}"))?;
        let mut hooks = Vec::new();
        for hook in ["customize_checkout", "finalize_checkout"] {
            let call = calls
                .as_array()
                .and_then(|c| {
                    c.iter()
                        .rev()
                        .find(|c| c["hook"].as_str().is_some_and(|h| h.contains(hook)))
                })
                .ok_or(format!("{hook} was not called"))?;
            if call["status"].as_u64() != Some(200) {
                return Err(format!(
                    "{hook} answered {}: {}",
                    call["status"], call["response"]
                ));
            }
            hooks.push(format!("{hook} 200 in {} ms", call["elapsed_ms"]));
        }
        let order = self
            .wait_for_order(&session, "the stored, paid order", |o| {
                if o.payment.status == "succeeded" {
                    Ok(())
                } else {
                    Err(format!("payment {}", o.payment.status))
                }
            })
            .await?;
        let fee = calls
            .as_array()
            .and_then(|c| {
                c.iter()
                    .rev()
                    .find(|c| c["hook"].as_str().is_some_and(|h| h.contains("finalize")))
            })
            .and_then(|c| {
                c["response"]["application_fee_details"]["application_fee_amount"].as_i64()
            });
        let currency = order.currency.clone().unwrap_or_default();
        Ok(format!(
            "{}: {}; total {}{}; {}",
            order.checkout_session_id,
            order
                .lines
                .iter()
                .map(|l| format!("{} x {}", l.quantity, l.sku.as_deref().unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(", "),
            money(order.amount_total.unwrap_or(0), &currency),
            fee.map(|f| format!(", application fee {}", money(f, &currency)))
                .unwrap_or_default(),
            hooks.join(", ")
        ))
    }

    async fn refund(&mut self) -> StepResult {
        let session = self
            .progress
            .checkout_session
            .clone()
            .ok_or("there is no order to refund")?;
        self.acb(&[
            "orders",
            "refund",
            ACCOUNT,
            &session,
            "--amount",
            &REFUND_AMOUNT.to_string(),
        ])
        .await?;
        let order = self
            .wait_for_order(&session, "the recorded refund", |o| {
                if o.refund.amount_refunded >= REFUND_AMOUNT {
                    Ok(())
                } else {
                    Err(format!(
                        "refunded {} ({})",
                        o.refund.amount_refunded, o.refund.status
                    ))
                }
            })
            .await?;
        if order.refund.amount_refunded != REFUND_AMOUNT || order.refund.status != "partial" {
            return Err(format!(
                "expected a partial refund of {REFUND_AMOUNT}, the order says {} ({})",
                order.refund.amount_refunded, order.refund.status
            ));
        }
        Ok(format!(
            "{} refunded of {}: refund status partial",
            money(
                order.refund.amount_refunded,
                order.currency.as_deref().unwrap_or("")
            ),
            money(
                order.amount_total.unwrap_or(0),
                order.currency.as_deref().unwrap_or("")
            )
        ))
    }
}

impl Player<'_> {
    /// What the stack holds for the objects this run made, read from DynamoDB and S3.
    async fn summary(&self) -> Value {
        let progress = &self.progress;
        let merchant: Option<Merchant> = self.merchants().merchant(ACCOUNT).await.ok().flatten();
        let import = match &progress.catalog_key {
            Some(key) => self.catalog().import(ACCOUNT, key).await.ok().flatten(),
            None => None,
        };
        let mut reports = Vec::new();
        for report in ["validation.csv", "stripe-errors.csv"] {
            let key = report_key(ACCOUNT, CATALOG_FILE, report);
            if let Some(bytes) = self.object_size(&key).await {
                reports.push(json!({"key": key, "bytes": bytes}));
            }
        }
        let agreement = match &progress.agreement_id {
            Some(id) => self
                .agreements()
                .agreement(ACCOUNT, id)
                .await
                .ok()
                .flatten(),
            None => None,
        };
        let order = match &progress.checkout_session {
            Some(session) => self.orders().get(ACCOUNT, session).await.ok().flatten(),
            None => None,
        };
        json!({
            "account": ACCOUNT,
            "merchant": merchant.map(|m| json!({"enabled": m.enabled, "name": m.display_name, "api": m.api_generation, "validation": m.validation})),
            "import": import.map(|r| json!({
                "import_key": r.import_key, "status": r.status, "rows": r.counts.rows,
                "rows_with_errors": r.counts.rows_with_errors, "stripe_successes": r.counts.stripe_successes,
                "stripe_errors": r.counts.stripe_errors, "reports": reports,
            })),
            "agreement": agreement.map(|a| json!({"id": a.agreement_id, "status": a.status, "orchestrator": a.orchestrator_name})),
            // Summed from the EMF lines the functions printed on stdout, as CloudWatch would.
            "metrics": self.stack.metrics.lines(),
            "order": order.map(|o| json!({
                "checkout_session": o.checkout_session_id, "amount_total": o.amount_total, "currency": o.currency,
                "payment": o.payment.status, "amount_refunded": o.refund.amount_refunded, "refund": o.refund.status,
                "lines": o.lines.iter().map(|l| json!({"sku": l.sku, "quantity": l.quantity})).collect::<Vec<_>>(),
            })),
        })
    }
}

fn print_summary(summary: &Value) {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    println!("\nSummary (read back from DynamoDB Local and S3)");
    let m = &summary["merchant"];
    println!(
        "  merchant   {}  {}  enabled={}  api={}  validation={}",
        summary["account"].as_str().unwrap_or("?"),
        text(&m["name"]),
        text(&m["enabled"]),
        text(&m["api"]),
        text(&m["validation"])
    );
    let i = &summary["import"];
    println!(
        "  import     {}  rows={} flagged={} stripe_ok={} stripe_errors={}",
        text(&i["status"]),
        text(&i["rows"]),
        text(&i["rows_with_errors"]),
        text(&i["stripe_successes"]),
        text(&i["stripe_errors"])
    );
    for report in i["reports"].as_array().into_iter().flatten() {
        println!(
            "             report {} ({} bytes)",
            text(&report["key"]),
            text(&report["bytes"])
        );
    }
    let a = &summary["agreement"];
    println!(
        "  agreement  {}  {}  with {}",
        text(&a["id"]),
        text(&a["status"]),
        text(&a["orchestrator"])
    );
    let o = &summary["order"];
    let currency = o["currency"].as_str().unwrap_or("");
    println!(
        "  order      {}  total {}  payment={}  refunded {} ({})",
        text(&o["checkout_session"]),
        o["amount_total"]
            .as_i64()
            .map(|a| money(a, currency))
            .unwrap_or("-".into()),
        text(&o["payment"]),
        o["amount_refunded"]
            .as_i64()
            .map(|a| money(a, currency))
            .unwrap_or("-".into()),
        text(&o["refund"])
    );
    println!("\nMetrics (the functions' EMF lines, summed by function and dimensions)");
    let lines = summary["metrics"].as_array().cloned().unwrap_or_default();
    if lines.is_empty() {
        println!("  (none printed)");
    }
    for line in lines {
        println!("  {}", text(&line));
    }
}

/// Plays every step; true when all succeeded. A failed step says why, and the steps that
/// need it are skipped.
pub async fn play(stack: &Stack) -> bool {
    let mut player = Player {
        stack,
        progress: Progress::default(),
    };
    const TITLES: [&str; 5] = [
        "Register a merchant",
        "Drop a catalog CSV with bad rows into incoming/",
        "An agent's agreement becomes confirmed",
        "An agentic purchase goes through both hooks",
        "A partial refund is issued and recorded",
    ];
    println!("\nScenario");
    let mut passed = 0;
    let mut register_ok = false;
    let mut catalog_ok = false;
    let mut purchase_ok = false;
    for (index, title) in TITLES.iter().enumerate() {
        println!("\n[{}/5] {title}", index + 1);
        let started = Instant::now();
        let skip = match index {
            1 | 2 if !register_ok => Some("the merchant was not registered"),
            3 if !register_ok || !catalog_ok => Some("the merchant or its catalog is missing"),
            4 if !purchase_ok => Some("there is no order"),
            _ => None,
        };
        let result = match skip {
            Some(reason) => Err(format!("skipped: {reason}")),
            None => match index {
                0 => player.register_merchant().await,
                1 => player.import_catalog().await,
                2 => player.confirm_agreement().await,
                3 => player.purchase().await,
                _ => player.refund().await,
            },
        };
        match &result {
            Ok(detail) => {
                passed += 1;
                println!("  ok ({:.1}s): {detail}", started.elapsed().as_secs_f64());
            }
            Err(why) => println!("  FAILED: step {} ({title}): {why}", index + 1),
        }
        match index {
            0 => register_ok = result.is_ok(),
            1 => catalog_ok = result.is_ok(),
            3 => purchase_ok = result.is_ok(),
            _ => {}
        }
    }
    let summary = player.summary().await;
    print_summary(&summary);
    let path: PathBuf = stack.run_dir.join("summary.json");
    let _ = std::fs::write(
        &path,
        serde_json::to_string_pretty(&summary).unwrap_or_default(),
    );
    println!("  (also in {})", path.display());
    println!("\n{passed} of 5 steps succeeded");
    passed == 5
}
