//! The catalog uploader end to end, for both API generations: files put into the S3
//! emulator, the S3 and schedule events AWS would send (from `events/catalog/`), the
//! function's handler, DynamoDB Local and stripe-sim's Files API and catalog imports.

use std::sync::Arc;

use serde_json::Value;
use shared::bucket::S3Objects;
use shared::clock::ManualClock;
use shared::config::Env;
use shared::imports::{Feed, ImportStatus};
use shared::merchants::{ApiGeneration, Merchant, ValidationMode};
use shared::store::dynamo::{DynamoCatalog, DynamoIdempotency, DynamoMerchants};
use shared::store::{ImportLog, MerchantAdmin, SkuRecords};
use shared::stripe::catalog::{CatalogApiSettings, StripeCatalog};
use shared::uploader::{Uploader, UploaderSettings};
use stripe_sim::{SimConfig, SimHandle};

mod imports;
mod incremental;
mod intake;
mod queue;

const KEY: &str = "sk_test_sim";
const ACCOUNT: &str = "acct_1CatalogMerchant";
const HEADER: &str = "id,title,description,link,image_link,brand,mpn,product_category,availability,inventory_quantity,price,shipping";

fn row(id: &str, title: &str, price: &str, quantity: u32) -> String {
    format!(
        "{id},{title},\"A sturdy item, made to last\",https://shop.example/p/{id},https://shop.example/i/{id}.jpg,Acme,MPN-{id},Home > Kitchen,in_stock,{quantity},{price},US:ALL:Standard:3-5:5.00 USD"
    )
}

fn csv(rows: &[String]) -> Vec<u8> {
    let mut text = format!("{HEADER}\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    text.into_bytes()
}

struct Stack {
    function: catalog_uploader::Function,
    sim: SimHandle,
    s3: aws_sdk_s3::Client,
    dynamo: aws_sdk_dynamodb::Client,
    bucket: String,
    merchants_table: String,
    catalog_table: String,
    idempotency_table: String,
    http: reqwest::Client,
}

impl Stack {
    async fn start(generation: ApiGeneration, validation: ValidationMode) -> Stack {
        Self::start_with(generation, validation, SimConfig::default()).await
    }

    async fn start_with(
        generation: ApiGeneration,
        validation: ValidationMode,
        sim_config: SimConfig,
    ) -> Stack {
        Self::start_with_env(generation, validation, sim_config, Vec::new()).await
    }

    /// With settings added to the function's environment.
    async fn start_with_env(
        generation: ApiGeneration,
        validation: ValidationMode,
        sim_config: SimConfig,
        extra: Vec<(&str, String)>,
    ) -> Stack {
        let dynamo = testkit::dynamo().await;
        let s3 = testkit::s3().await;
        let merchants_table = testkit::fresh_table(&dynamo, testkit::MERCHANTS).await;
        let catalog_table = testkit::fresh_table(&dynamo, testkit::CATALOG).await;
        let idempotency_table = testkit::fresh_table(&dynamo, testkit::IDEMPOTENCY).await;
        let bucket = testkit::fresh_bucket(&s3).await;
        let sim = stripe_sim::start(sim_config, 0).await.unwrap();
        let env = Env::from_map(extra.into_iter().chain([
            ("STRIPE_SECRET_KEY", KEY.to_string()),
            ("STRIPE_API_BASE", sim.base_url()),
            ("STRIPE_FILES_BASE", sim.base_url()),
            ("CATALOG_BUCKET", bucket.clone()),
            ("MERCHANTS_TABLE", merchants_table.clone()),
            ("CATALOG_TABLE", catalog_table.clone()),
            ("IDEMPOTENCY_TABLE", idempotency_table.clone()),
            ("FEED_UPLOAD_INTERVAL_SECONDS", "0".to_string()),
            (
                "DYNAMODB_ENDPOINT",
                std::env::var("DYNAMODB_ENDPOINT").unwrap(),
            ),
            ("S3_ENDPOINT", std::env::var("S3_ENDPOINT").unwrap()),
        ]));
        let function = catalog_uploader::init(env).await.unwrap();
        let stack = Stack {
            function,
            sim,
            s3,
            dynamo,
            bucket,
            merchants_table,
            catalog_table,
            idempotency_table,
            http: reqwest::Client::new(),
        };
        let mut merchant = Merchant::new(ACCOUNT);
        merchant.api_generation = generation;
        merchant.validation = validation;
        stack.merchants().put_merchant(&merchant).await.unwrap();
        stack
    }

    fn merchants(&self) -> DynamoMerchants {
        DynamoMerchants::new(self.dynamo.clone(), &self.merchants_table)
    }

    fn catalog(&self) -> DynamoCatalog {
        DynamoCatalog::new(self.dynamo.clone(), &self.catalog_table)
    }

    async fn drop_file(&self, key: &str, body: &[u8]) -> Value {
        let event = testkit::put_and_event(&self.s3, &self.bucket, key, body).await;
        self.send(event).await
    }

    async fn send(&self, event: Value) -> Value {
        let outcome = catalog_uploader::handle(&self.function, event)
            .await
            .expect("handled");
        serde_json::to_value(outcome).unwrap()
    }

    async fn tick(&self) -> Value {
        self.send(testkit::fixture("catalog/scheduled.json")).await
    }

    /// The nudge the bus delivers when Stripe says the latest import changed (a v2 thin
    /// event, a v1 webhook; `events/catalog/import_changed.json`): the uploader asks
    /// Stripe at once. The schedule's own polls of an import back off from 30 seconds.
    async fn stripe_announces_the_latest_import(&self) -> Value {
        let latest = self.catalog().imports(ACCOUNT, 1).await.unwrap();
        let import_id = latest
            .first()
            .and_then(|r| r.stripe_import_id.clone())
            .expect("an import Stripe has");
        self.send(Self::nudge(&import_id)).await
    }

    fn nudge(import_id: &str) -> Value {
        let mut event = testkit::fixture("catalog/import_changed.json");
        event["detail"]["account_id"] = ACCOUNT.into();
        event["detail"]["import_id"] = import_id.into();
        event
    }

    async fn report(&self, name: &str, file: &str) -> Option<Vec<u8>> {
        testkit::read_object(
            &self.s3,
            &self.bucket,
            &format!("reports/{ACCOUNT}/{name}/{file}"),
        )
        .await
    }

    async fn status(&self, name: &str) -> Value {
        let bytes = self
            .report(name, "status.json")
            .await
            .unwrap_or_else(|| panic!("no status.json for {name}"));
        serde_json::from_slice(&bytes).unwrap()
    }

    /// What Stripe (the emulator) holds for the account.
    async fn stripe_catalog(&self, account: &str) -> Value {
        self.http
            .get(format!("{}/_sim/catalog/{account}", self.sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn imports_at_stripe(&self, account: &str) -> usize {
        self.stripe_catalog(account).await["imports"]
            .as_array()
            .map_or(0, Vec::len)
    }
}

async fn valid_file_reaches_succeeded(generation: ApiGeneration) {
    let stack = Stack::start(generation, ValidationMode::Strict).await;
    let rows: Vec<String> = (1..=5)
        .map(|i| {
            row(
                &format!("SKU-{i}"),
                &format!("Mug {i}"),
                "12.50 USD",
                10 * i,
            )
        })
        .collect();
    let outcome = stack
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/spring sale.csv"),
            &csv(&rows),
        )
        .await;
    assert_eq!(outcome["files"][0]["outcome"], "queued", "{outcome}");
    stack.stripe_announces_the_latest_import().await;

    let status = stack.status("spring sale.csv").await;
    assert_eq!(status["status"], "succeeded", "{status}");
    assert_eq!(status["stripe_successes"], 5);
    let stripe = stack.stripe_catalog(ACCOUNT).await;
    assert_eq!(
        stripe["products"].as_object().map(|p| p.len()),
        Some(5),
        "{stripe}"
    );
    assert_eq!(stripe["products"]["SKU-3"]["title"], "Mug 3");

    let imports = stack.catalog().imports(ACCOUNT, 10).await.unwrap();
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].status, ImportStatus::Succeeded);
    let sku = stack
        .catalog()
        .sku(ACCOUNT, "SKU-3")
        .await
        .unwrap()
        .expect("snapshot");
    assert_eq!(sku.quantity, Some(30));
    assert_eq!(sku.price.map(|p| p.amount), Some(1250));
    assert_eq!(sku.shipping.len(), 1);
}

async fn bad_rows_come_back_in_stripes_error_file(generation: ApiGeneration) {
    let stack = Stack::start(generation, ValidationMode::Lenient).await;
    let rows = vec![
        row("SKU-1", "Mug", "12.50 USD", 5),
        row("SKU-2", "Bowl", "twelve dollars", 5),
        row("SKU-3", "Plate", "3.00 USD", 5),
        row("SKU-4", "Cup", "12,50 EUR", 5),
    ];
    stack
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/mixed.csv"),
            &csv(&rows),
        )
        .await;
    // Our own validation saw the bad prices; lenient merchants upload anyway.
    let validation = String::from_utf8(
        stack
            .report("mixed.csv", "validation.csv")
            .await
            .expect("validation.csv"),
    )
    .unwrap();
    assert_eq!(validation.lines().count(), 3, "{validation}");
    stack.stripe_announces_the_latest_import().await;

    let status = stack.status("mixed.csv").await;
    assert_eq!(status["status"], "succeeded_with_errors", "{status}");
    let errors = String::from_utf8(
        stack
            .report("mixed.csv", "stripe-errors.csv")
            .await
            .expect("stripe-errors.csv"),
    )
    .unwrap();
    let mut lines = errors.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("stripe_error_message,id,"),
        "{errors}"
    );
    let failed: Vec<&str> = lines.collect();
    assert_eq!(failed.len(), 2, "{errors}");
    assert!(
        failed.iter().any(|l| l.contains("SKU-2")) && failed.iter().any(|l| l.contains("SKU-4"))
    );
    // Snapshots only for what Stripe accepted.
    assert!(
        stack
            .catalog()
            .sku(ACCOUNT, "SKU-1")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        stack
            .catalog()
            .sku(ACCOUNT, "SKU-2")
            .await
            .unwrap()
            .is_none()
    );
}
