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
        let dynamo = testkit::dynamo().await;
        let s3 = testkit::s3().await;
        let merchants_table = testkit::fresh_table(&dynamo, testkit::MERCHANTS).await;
        let catalog_table = testkit::fresh_table(&dynamo, testkit::CATALOG).await;
        let idempotency_table = testkit::fresh_table(&dynamo, testkit::IDEMPOTENCY).await;
        let bucket = testkit::fresh_bucket(&s3).await;
        let sim = stripe_sim::start(SimConfig::default(), 0).await.unwrap();
        let env = Env::from_map([
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
        ]);
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
    stack.tick().await;

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

#[tokio::test]
async fn v1_valid_file_reaches_succeeded() {
    valid_file_reaches_succeeded(ApiGeneration::V1).await;
}

#[tokio::test]
async fn v2_valid_file_reaches_succeeded() {
    valid_file_reaches_succeeded(ApiGeneration::V2).await;
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
    stack.tick().await;

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

#[tokio::test]
async fn v1_bad_rows_come_back_in_stripes_error_file() {
    bad_rows_come_back_in_stripes_error_file(ApiGeneration::V1).await;
}

#[tokio::test]
async fn v2_bad_rows_come_back_in_stripes_error_file() {
    bad_rows_come_back_in_stripes_error_file(ApiGeneration::V2).await;
}

#[tokio::test]
async fn a_structurally_broken_file_is_reported_and_never_uploaded() {
    for generation in [ApiGeneration::V1, ApiGeneration::V2] {
        let stack = Stack::start(generation, ValidationMode::Lenient).await;
        let body = b"id,title,link\nSKU-1,Mug,https://shop.example/p/1\n";
        let outcome = stack
            .drop_file(&format!("incoming/{ACCOUNT}/catalog/broken.csv"), body)
            .await;
        assert_eq!(outcome["files"][0]["outcome"], "rejected", "{outcome}");
        let status = stack.status("broken.csv").await;
        assert_eq!(status["status"], "rejected");
        assert!(
            status["reason"]
                .as_str()
                .unwrap()
                .contains("missing required column"),
            "{status}"
        );
        stack.tick().await;
        assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 0);
    }
}

#[tokio::test]
async fn strict_merchants_reject_files_with_row_errors() {
    let stack = Stack::start(ApiGeneration::V1, ValidationMode::Strict).await;
    let rows = vec![
        row("SKU-1", "Mug", "12.50 USD", 5),
        row("SKU-2", "Bowl", "free", 5),
    ];
    stack
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/strict.csv"),
            &csv(&rows),
        )
        .await;
    assert_eq!(stack.status("strict.csv").await["status"], "rejected");
    assert!(stack.report("strict.csv", "validation.csv").await.is_some());
    assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 0);
}

#[tokio::test]
async fn a_duplicated_s3_event_makes_one_import() {
    let stack = Stack::start(ApiGeneration::V2, ValidationMode::Lenient).await;
    let event = testkit::put_and_event(
        &stack.s3,
        &stack.bucket,
        &format!("incoming/{ACCOUNT}/catalog/once.csv"),
        &csv(&[row("SKU-1", "Mug", "1.00 USD", 1)]),
    )
    .await;
    // Two deliveries at once: one does the work; the other either sees it done or is told
    // to retry (an error, so Lambda redelivers it later).
    let (a, b) = tokio::join!(
        catalog_uploader::handle(&stack.function, event.clone()),
        catalog_uploader::handle(&stack.function, event.clone())
    );
    let outcomes: Vec<String> = [a, b]
        .into_iter()
        .map(|r| match r {
            Ok(outcome) => serde_json::to_value(outcome).unwrap()["files"][0]["outcome"]
                .as_str()
                .unwrap()
                .to_string(),
            Err(e) => format!("retry: {e}"),
        })
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "queued").count(),
        1,
        "{outcomes:?}"
    );
    let again = stack.send(event).await;
    assert_eq!(again["files"][0]["outcome"], "duplicate", "{again}");
    stack.tick().await;
    assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 1);
}

#[tokio::test]
async fn files_under_an_unknown_account_are_rejected_and_not_uploaded() {
    let stack = Stack::start(ApiGeneration::V1, ValidationMode::Lenient).await;
    let stranger = "acct_1Stranger";
    let outcome = stack
        .drop_file(
            &format!("incoming/{stranger}/catalog/x.csv"),
            &csv(&[row("SKU-1", "Mug", "1.00 USD", 1)]),
        )
        .await;
    assert_eq!(outcome["files"][0]["outcome"], "rejected", "{outcome}");
    let status = testkit::read_object(
        &stack.s3,
        &stack.bucket,
        &format!("reports/{stranger}/x.csv/status.json"),
    )
    .await
    .unwrap();
    let status: Value = serde_json::from_slice(&status).unwrap();
    assert!(
        status["reason"]
            .as_str()
            .unwrap()
            .contains("unknown account")
    );
    stack.tick().await;
    assert_eq!(stack.imports_at_stripe(stranger).await, 0);
    assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 0);
    // Keys outside the layout are ignored.
    let outcome = stack
        .drop_file(&format!("incoming/{ACCOUNT}/notes.txt"), b"hello")
        .await;
    assert_eq!(outcome["files"][0]["outcome"], "ignored", "{outcome}");
}

/// Three files inside one interval go out as one merged upload at the next slot, in
/// arrival order with the last row per id winning. Driven with a manual clock.
#[tokio::test]
async fn files_within_an_interval_are_merged_into_one_upload() {
    for generation in [ApiGeneration::V1, ApiGeneration::V2] {
        let stack = Stack::start(generation, ValidationMode::Lenient).await;
        let clock = Arc::new(ManualClock::at_seconds(1_800_000_000));
        let settings = shared::config::StripeSettings::from_env(&Env::from_map([
            ("STRIPE_API_BASE", stack.sim.base_url()),
            ("STRIPE_FILES_BASE", stack.sim.base_url()),
        ]))
        .unwrap();
        let client = shared::stripe::StripeClient::new(
            shared::stripe::http_client(&settings).unwrap(),
            &settings,
            shared::secret::Secret::new(KEY),
        );
        let uploader = Uploader {
            merchants: stack.merchants(),
            catalog: stack.catalog(),
            idempotency: DynamoIdempotency::new(
                stack.dynamo.clone(),
                &stack.idempotency_table,
                3600,
                60,
            ),
            objects: S3Objects::new(stack.s3.clone()),
            stripe: StripeCatalog::new(
                client,
                CatalogApiSettings::from_env(&Env::default()).unwrap(),
            ),
            clock: clock.clone(),
            settings: UploaderSettings {
                bucket: stack.bucket.clone(),
                interval_millis: 15 * 60_000,
                concurrency: 2,
                max_report_rows: 100,
            },
        };
        let put = |name: &str, rows: Vec<String>| {
            let key = format!("incoming/{ACCOUNT}/catalog/{name}");
            let s3 = stack.s3.clone();
            let bucket = stack.bucket.clone();
            async move {
                let event = testkit::put_and_event(&s3, &bucket, &key, &csv(&rows)).await;
                let object = &event["Records"][0]["s3"]["object"];
                (
                    object["key"].as_str().unwrap().to_string(),
                    object["versionId"].as_str().map(str::to_string),
                    object["size"].as_u64().unwrap(),
                )
            }
        };
        // The first file goes at once and opens the interval.
        let (key, version, size) = put(
            "a.csv",
            vec![
                row("SKU-1", "One", "1.00 USD", 1),
                row("SKU-2", "Two", "2.00 USD", 2),
            ],
        )
        .await;
        uploader
            .on_object_created(&stack.bucket, &key, version, None, size)
            .await
            .unwrap();
        uploader.on_schedule().await.unwrap();
        assert_eq!(stack.imports_at_stripe(ACCOUNT).await, 1);

        clock.advance_millis(60_000);
        for (name, rows) in [
            (
                "b.csv",
                vec![
                    row("SKU-2", "Two (b)", "2.50 USD", 2),
                    row("SKU-3", "Three (b)", "3.00 USD", 3),
                ],
            ),
            (
                "c.csv",
                vec![
                    row("SKU-3", "Three (c)", "3.50 USD", 3),
                    row("SKU-4", "Four (c)", "4.00 USD", 4),
                ],
            ),
            ("d.csv", vec![row("SKU-1", "One (d)", "1.50 USD", 1)]),
        ] {
            let (key, version, size) = put(name, rows).await;
            let outcome = uploader
                .on_object_created(&stack.bucket, &key, version, None, size)
                .await
                .unwrap();
            assert!(
                matches!(outcome, shared::uploader::FileOutcome::Queued { .. }),
                "{outcome:?}"
            );
            clock.advance_millis(60_000);
        }
        uploader.on_schedule().await.unwrap();
        assert_eq!(
            stack.imports_at_stripe(ACCOUNT).await,
            1,
            "the interval holds the queued files"
        );

        clock.advance_millis(15 * 60_000);
        uploader.on_schedule().await.unwrap();
        uploader.on_schedule().await.unwrap();
        let stripe = stack.stripe_catalog(ACCOUNT).await;
        assert_eq!(
            stripe["imports"].as_array().unwrap().len(),
            2,
            "one merged upload for three files: {stripe}"
        );
        let products = &stripe["products"];
        assert_eq!(products["SKU-1"]["title"], "One (d)");
        assert_eq!(products["SKU-2"]["title"], "Two (b)");
        assert_eq!(products["SKU-3"]["title"], "Three (c)");
        assert_eq!(products["SKU-4"]["title"], "Four (c)");

        let imports = stack.catalog().imports(ACCOUNT, 10).await.unwrap();
        let merged = imports
            .iter()
            .find(|i| i.sources.len() == 3)
            .expect("a merged import");
        assert_eq!(merged.status, ImportStatus::Succeeded, "{merged:?}");
        assert_eq!(merged.feed, Feed::Product);
        let body = testkit::read_object(&stack.s3, &stack.bucket, &merged.upload.key)
            .await
            .unwrap();
        let text = String::from_utf8(body).unwrap();
        let ids: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').next().unwrap())
            .collect();
        assert_eq!(
            ids,
            ["SKU-2", "SKU-3", "SKU-4", "SKU-1"],
            "last row per id, in arrival order:\n{text}"
        );
        for name in ["b.csv", "c.csv", "d.csv"] {
            assert_eq!(stack.status(name).await["status"], "succeeded");
        }
    }
}

/// Stripe's v2 error-file URL lives five minutes: one that expired before we fetched it is
/// refreshed by reading the import again.
#[tokio::test]
async fn v2_expired_error_file_url_is_refreshed() {
    let stack = Stack::start(ApiGeneration::V2, ValidationMode::Lenient).await;
    let response = stack
        .http
        .post(format!("{}/_sim/error_file_urls", stack.sim.base_url()))
        .json(&serde_json::json!({"expired_next": 1}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let rows = vec![
        row("SKU-1", "Mug", "1.00 USD", 1),
        row("SKU-2", "Bowl", "bad price", 1),
    ];
    stack
        .drop_file(&format!("incoming/{ACCOUNT}/catalog/late.csv"), &csv(&rows))
        .await;
    stack.tick().await;
    assert_eq!(
        stack.status("late.csv").await["status"],
        "succeeded_with_errors"
    );
    let errors = String::from_utf8(
        stack
            .report("late.csv", "stripe-errors.csv")
            .await
            .expect("report copied"),
    )
    .unwrap();
    assert!(errors.contains("SKU-2"), "{errors}");
}

/// A v2 import's thin events reach the webhooks function's `/stripe/events`, which
/// finishes the import at once: no schedule tick is needed.
#[tokio::test]
async fn v2_import_events_finish_the_import_without_waiting_for_the_schedule() {
    let stack = Stack::start(ApiGeneration::V2, ValidationMode::Lenient).await;
    let agreements = testkit::fresh_table(&stack.dynamo, testkit::AGREEMENTS).await;
    let orders = testkit::fresh_table(&stack.dynamo, testkit::ORDERS).await;
    let env = Env::from_map([
        ("STRIPE_SECRET_KEY", KEY.to_string()),
        ("STRIPE_API_BASE", stack.sim.base_url()),
        ("STRIPE_FILES_BASE", stack.sim.base_url()),
        ("STRIPE_WEBHOOK_SECRETS", "whsec_unused".to_string()),
        (
            "STRIPE_THIN_EVENT_SECRETS",
            "whsec_test_thin_sim".to_string(),
        ),
        ("ORDERS_TABLE", orders),
        ("AGREEMENTS_TABLE", agreements),
        ("IDEMPOTENCY_TABLE", stack.idempotency_table.clone()),
        ("CATALOG_BUCKET", stack.bucket.clone()),
        ("MERCHANTS_TABLE", stack.merchants_table.clone()),
        ("CATALOG_TABLE", stack.catalog_table.clone()),
        ("FEED_UPLOAD_INTERVAL_SECONDS", "0".to_string()),
        (
            "DYNAMODB_ENDPOINT",
            std::env::var("DYNAMODB_ENDPOINT").unwrap(),
        ),
        ("S3_ENDPOINT", std::env::var("S3_ENDPOINT").unwrap()),
    ]);
    let webhooks_function = Arc::new(webhooks::init(env).await.unwrap());
    let f = webhooks_function.clone();
    let gateway = testkit::gateway::serve(move |request| {
        let f = f.clone();
        async move { webhooks::handle(&f, &request).await }
    })
    .await;
    let response = stack
        .http
        .post(format!("{}/_sim/thin_event_endpoint", stack.sim.base_url()))
        .json(&serde_json::json!({"url": gateway.url("/stripe/events"), "secret": "whsec_test_thin_sim"}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());

    stack
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/evented.csv"),
            &csv(&[row("SKU-1", "Mug", "1.00 USD", 1)]),
        )
        .await;
    // Bounded wait for the emulator's asynchronous delivery; no schedule tick is sent.
    let mut status = Value::Null;
    for _ in 0..100 {
        status = stack.status("evented.csv").await;
        if status["status"] == "succeeded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status["status"], "succeeded", "{status}");
    assert!(
        stack
            .catalog()
            .sku(ACCOUNT, "SKU-1")
            .await
            .unwrap()
            .is_some(),
        "snapshots written by the event path"
    );
}
