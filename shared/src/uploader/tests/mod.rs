//! The uploader over in-memory stores, an in-memory bucket and a fake of Stripe's catalog
//! API: intake, cadence and merge, and import completion, with no emulator running.

mod bounded;
mod fanout;
mod incremental;
mod lease;
mod retries;

use std::sync::Arc;

use serde_json::Value;

use super::*;
use crate::bucket::memory::MemoryBucket;
use crate::clock::ManualClock;
use crate::imports::model::{FeedSlot, ImportRecord};
use crate::merchants::{ApiGeneration, Merchant, ValidationMode};
use crate::skus::Availability;
use crate::store::memory::{MemoryCatalog, MemoryIdempotency, MemoryMerchants};
use crate::stripe::fake_catalog::FakeCatalogApi;

const BUCKET: &str = "catalog-bucket";
const ACCOUNT: &str = "acct_1Unit";
const MINUTE: i64 = 60_000;

type TestUploader = Uploader<
    MemoryMerchants,
    MemoryCatalog,
    MemoryIdempotency,
    MemoryBucket,
    FakeCatalogApi,
    Arc<ManualClock>,
>;

struct Harness {
    uploader: TestUploader,
    bucket: MemoryBucket,
    clock: Arc<ManualClock>,
    metrics: crate::metrics::Recorded,
}

fn merchant(generation: ApiGeneration, validation: ValidationMode) -> Merchant {
    let mut merchant = Merchant::new(ACCOUNT);
    merchant.api_generation = generation;
    merchant.validation = validation;
    merchant
}

fn harness(merchants: Vec<Merchant>) -> Harness {
    let bucket = MemoryBucket::default();
    let clock = Arc::new(ManualClock::at_seconds(1_800_000_000));
    let (metrics, recorded) = crate::metrics::Metrics::recording("catalog-uploader");
    Harness {
        uploader: Uploader {
            merchants: MemoryMerchants::with(merchants),
            catalog: MemoryCatalog::default(),
            idempotency: MemoryIdempotency::new(3600, 60),
            objects: bucket.clone(),
            stripe: FakeCatalogApi::default(),
            clock: clock.clone(),
            metrics,
            dispatch: Default::default(),
            settings: UploaderSettings {
                bucket: BUCKET.into(),
                interval_millis: 15 * MINUTE,
                concurrency: 4,
                max_report_rows: 100,
            },
        },
        bucket,
        clock,
        metrics: recorded,
    }
}

const HEADER: &str = "id,title,description,link,image_link,brand,mpn,product_category,availability,inventory_quantity,price";

/// A valid product row.
fn row(id: &str, title: &str, quantity: u32, price: &str) -> String {
    format!(
        "{id},{title},A fine {title},https://shop.example/p/{id},https://shop.example/i/{id}.jpg,Acme,MPN-{id},Home > Kitchen,in_stock,{quantity},{price}"
    )
}

fn csv(rows: &[String]) -> String {
    let mut text = HEADER.to_string();
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    text.push('\n');
    text
}

impl Harness {
    /// Puts `body` under `key` and hands the uploader the S3 event for it.
    async fn drop_file(&self, key: &str, body: &str) -> FileOutcome {
        let object = self.bucket.put_version(BUCKET, key, body.as_bytes());
        let encoded = key.replace(' ', "+");
        self.uploader
            .on_object_created(BUCKET, &encoded, object.version_id, None, object.size)
            .await
            .expect("the file is handled")
    }

    fn status(&self, name: &str) -> Value {
        let key = format!("reports/{ACCOUNT}/{name}/status.json");
        let body = self
            .bucket
            .get(BUCKET, &key)
            .unwrap_or_else(|| panic!("no {key}"));
        serde_json::from_slice(&body).unwrap()
    }

    async fn slot(&self) -> FeedSlot {
        self.uploader
            .catalog
            .slot(ACCOUNT, Feed::Product)
            .await
            .unwrap()
            .expect("a slot")
    }

    /// Stripe ends import `id` and says so (a v2 thin event, a v1 webhook): the uploader
    /// asks Stripe at once and completes it.
    async fn stripe_ends(&self, id: &str, status: &str, successes: u64, errors: Option<&str>) {
        self.uploader.stripe.finish(id, status, successes, errors);
        self.uploader
            .on_import_event(ACCOUNT, id)
            .await
            .expect("the import event is handled");
    }

    /// The newest import record.
    async fn latest_import(&self) -> ImportRecord {
        self.uploader
            .catalog
            .imports(ACCOUNT, 1)
            .await
            .unwrap()
            .remove(0)
    }

    fn last_import_id(&self) -> String {
        self.uploader
            .stripe
            .import_ids()
            .pop()
            .expect("an import was started")
    }
}

#[tokio::test]
async fn a_valid_file_is_uploaded_at_once_and_reported_processing() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    let body = csv(&[
        row("A", "Mug", 5, "18.00 USD"),
        row("B", "Bowl", 3, "25.00 USD"),
    ]);
    let outcome = h
        .drop_file(
            &format!("incoming/{ACCOUNT}/catalog/spring sale.csv"),
            &body,
        )
        .await;
    assert_eq!(
        outcome,
        FileOutcome::Queued {
            account_id: ACCOUNT.into(),
            feed: Feed::Product,
            rows: 2,
            rows_with_errors: 0
        }
    );
    let uploads = h.uploader.stripe.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(
        (
            uploads[0].filename.as_str(),
            uploads[0].content_type,
            uploads[0].length,
            uploads[0].v2
        ),
        ("spring sale.csv", "text/csv", body.len() as u64, false)
    );
    let status = h.status("spring sale.csv");
    assert_eq!(status["status"], "processing");
    assert_eq!(status["rows"], 2);
    assert!(h.slot().await.in_flight.is_some());
}

#[tokio::test]
async fn files_inside_the_interval_wait_and_then_go_merged_with_the_last_row_winning() {
    let h = harness(vec![merchant(ApiGeneration::V2, ValidationMode::Lenient)]);
    let dir = format!("incoming/{ACCOUNT}/catalog");
    h.drop_file(
        &format!("{dir}/first.csv"),
        &csv(&[row("A", "Mug", 5, "18.00 USD")]),
    )
    .await;
    let first = h.last_import_id();
    h.clock.advance_millis(MINUTE);
    h.drop_file(
        &format!("{dir}/second.csv"),
        &csv(&[
            row("B", "Bowl", 3, "25.00 USD"),
            row("C", "Cup", 1, "9.00 USD"),
        ]),
    )
    .await;
    h.clock.advance_millis(MINUTE);
    h.drop_file(
        &format!("{dir}/third.csv"),
        &csv(&[row("B", "Big Bowl", 4, "30.00 USD")]),
    )
    .await;
    // One upload in flight: nothing more went to Stripe, both wait in the queue.
    assert_eq!(h.uploader.stripe.uploads().len(), 1);
    assert_eq!(h.slot().await.queue.len(), 2);
    assert_eq!(h.status("second.csv")["status"], "queued");

    // Stripe finishes; the interval has not passed, so completing it frees the slot only.
    h.stripe_ends(&first, "succeeded", 1, None).await;
    assert_eq!(h.uploader.stripe.uploads().len(), 1);
    assert!(h.slot().await.in_flight.is_none());

    h.clock.advance_millis(15 * MINUTE);
    let tick = h.uploader.on_schedule().await.unwrap();
    assert_eq!((tick.feeds, tick.failed), (1, 0));
    let uploads = h.uploader.stripe.uploads();
    assert_eq!(uploads.len(), 2, "the queued files went as one upload");
    let record = h.latest_import().await;
    assert_eq!(record.sources.len(), 2);
    let merged = String::from_utf8(h.bucket.get(BUCKET, &record.upload.key).unwrap()).unwrap();
    let ids: Vec<&str> = merged
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(ids, ["C", "B"], "arrival order, one row per id: {merged}");
    assert!(
        merged.contains("Big Bowl") && !merged.contains(",Bowl,"),
        "{merged}"
    );
    assert_eq!(uploads[1].length, merged.len() as u64);
}

#[tokio::test]
async fn without_an_event_the_schedule_polls_an_import_only_as_it_backs_off() {
    use crate::imports::cadence::FIRST_POLL_AFTER_MILLIS;
    let h = harness(vec![merchant(ApiGeneration::V2, ValidationMode::Lenient)]);
    h.drop_file(
        &format!("incoming/{ACCOUNT}/catalog/all.csv"),
        &csv(&[row("A", "Mug", 5, "18.00 USD")]),
    )
    .await;
    assert_eq!(h.uploader.stripe.polls(), 0, "just sent: not asked about");
    // A tick a minute, for twenty minutes; Stripe is still processing.
    let mut polled_at = Vec::new();
    for second in (0..20 * 60).step_by(60) {
        let before = h.uploader.stripe.polls();
        h.uploader.on_schedule().await.unwrap();
        if h.uploader.stripe.polls() > before {
            polled_at.push(second);
        }
        h.clock.advance_millis(MINUTE);
    }
    // Due at 30 s, then after as long again as it has taken: 1, 2, 4, 8 and 16 minutes.
    assert_eq!(polled_at, [60, 120, 240, 480, 960], "{polled_at:?}");
    assert_eq!(FIRST_POLL_AFTER_MILLIS, 30_000);
    // Stripe ends it; a tick before the next poll is due does not notice...
    let id = h.last_import_id();
    h.uploader.stripe.finish(&id, "succeeded", 1, None);
    h.uploader.on_schedule().await.unwrap();
    assert!(h.slot().await.in_flight.is_some());
    // ...but Stripe's event about it is acted on at once.
    h.uploader.on_import_event(ACCOUNT, &id).await.unwrap();
    assert!(h.slot().await.in_flight.is_none());
    assert_eq!(h.status("all.csv")["status"], "succeeded");
}

#[tokio::test]
async fn a_finished_import_copies_stripes_report_and_updates_only_accepted_skus() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    let body = csv(&[
        row("A", "Mug", 5, "18.00 USD"),
        row("B", "Bowl", 3, "25.00 USD"),
        row("C", "Cup", 0, "9.00 USD"),
    ]);
    h.drop_file(&format!("incoming/{ACCOUNT}/catalog/all.csv"), &body)
        .await;
    let report = format!(
        "stripe_error_message,{HEADER}\nimage could not be fetched,{}\n",
        row("B", "Bowl", 3, "25.00 USD")
    );
    h.stripe_ends(
        &h.last_import_id(),
        "succeeded_with_errors",
        2,
        Some(&report),
    )
    .await;

    let status = h.status("all.csv");
    assert_eq!(status["status"], "succeeded_with_errors");
    assert_eq!(
        (
            status["stripe_successes"].as_u64(),
            status["stripe_errors"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let copied = h
        .bucket
        .get(
            BUCKET,
            &format!("reports/{ACCOUNT}/all.csv/stripe-errors.csv"),
        )
        .expect("Stripe's report is copied next to the source");
    assert_eq!(copied, report.as_bytes());
    let skus = h.uploader.catalog.sku_records(ACCOUNT);
    assert_eq!(
        skus.keys().collect::<Vec<_>>(),
        ["A", "C"],
        "B failed at Stripe"
    );
    assert_eq!(
        (skus["A"].availability, skus["A"].available),
        (Availability::InStock, Some(5))
    );
    assert_eq!(skus["A"].price.map(|p| p.amount), Some(1800));
    assert!(h.slot().await.in_flight.is_none(), "the slot is free again");
}

#[tokio::test]
async fn a_catalog_too_large_for_one_invocation_gets_its_sku_records_over_several() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    let rows: Vec<String> = (0..40)
        .map(|i| row(&format!("SKU-{i:03}"), "Mug", 5, "18.00 USD"))
        .collect();
    h.drop_file(&format!("incoming/{ACCOUNT}/catalog/all.csv"), &csv(&rows))
        .await;
    let id = h.last_import_id();
    h.uploader.stripe.finish(&id, "succeeded", 40, None);

    // Stripe's event arrives in an invocation with less time left than finishing needs.
    let first_pass_at = h.clock.now_millis();
    let short = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    crate::budget::within(short, h.uploader.on_import_event(ACCOUNT, &id))
        .await
        .expect("running out of time is not an error");
    let record = h.latest_import().await;
    let written = record.sku_rows_applied.expect("how far it got is saved");
    assert!((1..40).contains(&written), "{written}");
    assert_eq!(record.status, ImportStatus::Processing, "not finished yet");
    assert_eq!(
        h.uploader.catalog.sku_records(ACCOUNT).len(),
        written as usize
    );
    let slot = h.slot().await;
    assert_eq!(slot.in_flight.as_deref(), Some(record.import_key.as_str()));
    assert!(
        slot.poll_after.is_some_and(|at| at <= h.clock.now_millis()),
        "due at once"
    );
    assert!(slot.lease.is_none(), "given back for the next invocation");
    assert_eq!(h.metrics.sum("SkuWritesContinued", &[]), 1.0);

    // The next tick goes on from there, with time enough, and writes each row once.
    h.clock.advance_millis(MINUTE);
    h.uploader.on_schedule().await.unwrap();
    let record = h.latest_import().await;
    assert_eq!(record.status, ImportStatus::Succeeded);
    let skus = h.uploader.catalog.sku_records(ACCOUNT);
    assert_eq!(skus.len(), 40);
    let from_first_pass = skus
        .values()
        .filter(|r| r.updated_at == first_pass_at)
        .count();
    assert_eq!(from_first_pass as u64, written, "not written again");
    assert!(h.slot().await.in_flight.is_none());
}

#[tokio::test]
async fn a_failed_import_changes_no_sku_and_says_why() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    h.drop_file(
        &format!("incoming/{ACCOUNT}/catalog/all.csv"),
        &csv(&[row("A", "Mug", 5, "18.00 USD")]),
    )
    .await;
    h.stripe_ends(&h.last_import_id(), "failed", 0, None).await;
    let status = h.status("all.csv");
    assert_eq!(status["status"], "failed");
    assert_eq!(status["failure"], "invalid_file");
    assert!(h.uploader.catalog.sku_records(ACCOUNT).is_empty());
}

#[tokio::test]
async fn files_that_must_not_reach_stripe_are_reported_and_never_uploaded() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Strict)]);
    let bad_price = csv(&[
        row("A", "Mug", 5, "18.00 USD"),
        row("B", "Bowl", 3, "twenty"),
    ]);
    let strict = h
        .drop_file(&format!("incoming/{ACCOUNT}/catalog/bad.csv"), &bad_price)
        .await;
    assert!(
        matches!(&strict, FileOutcome::Rejected { reason } if reason.contains("strict")),
        "{strict:?}"
    );
    let validation = String::from_utf8(
        h.bucket
            .get(BUCKET, &format!("reports/{ACCOUNT}/bad.csv/validation.csv"))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        validation.lines().count(),
        2,
        "header and the one bad row: {validation}"
    );
    assert!(validation.lines().nth(1).unwrap().contains(",B,"));

    let stranger = h
        .drop_file(
            "incoming/acct_1Stranger/catalog/a.csv",
            &csv(&[row("A", "Mug", 1, "1.00 USD")]),
        )
        .await;
    assert!(
        matches!(&stranger, FileOutcome::Rejected { reason } if reason.contains("unknown account"))
    );
    let v2_only = h
        .drop_file(
            &format!("incoming/{ACCOUNT}/pricing/p.csv"),
            "id,price\nA,1.00 USD\n",
        )
        .await;
    assert!(matches!(&v2_only, FileOutcome::Rejected { reason } if reason.contains("v2")));
    let outside = h.drop_file("uploads/a.csv", "x").await;
    assert!(matches!(outside, FileOutcome::Ignored { .. }));
    assert!(h.uploader.stripe.uploads().is_empty());
}

#[tokio::test]
async fn a_redelivered_s3_event_is_a_duplicate_and_a_new_version_is_a_new_file() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    let key = format!("incoming/{ACCOUNT}/catalog/a.csv");
    let object = h.bucket.put_version(
        BUCKET,
        &key,
        csv(&[row("A", "Mug", 1, "1.00 USD")]).as_bytes(),
    );
    let deliver = || {
        h.uploader
            .on_object_created(BUCKET, &key, object.version_id.clone(), None, object.size)
    };
    assert!(matches!(
        deliver().await.unwrap(),
        FileOutcome::Queued { .. }
    ));
    assert_eq!(deliver().await.unwrap(), FileOutcome::Duplicate);
    let newer = h
        .drop_file(&key, &csv(&[row("A", "Mug", 2, "1.00 USD")]))
        .await;
    assert!(matches!(newer, FileOutcome::Queued { .. }));
}

fn mug_hold(id: &str, quantity: i64, expires_at: i64) -> crate::holds::Hold {
    crate::holds::Hold {
        account_id: ACCOUNT.into(),
        hold_id: id.into(),
        fingerprint: "fp".into(),
        session_id: None,
        lines: vec![crate::holds::HoldLine {
            sku: "A".into(),
            quantity,
        }],
        status: crate::holds::HoldStatus::Open,
        created_at: 0,
        expires_at,
        order_session: None,
        placed_lines: None,
        ending_to: None,
        ending_moved: None,
    }
}

/// A v1 merchant whose catalog (SKU A, 5 in stock) Stripe has imported.
async fn mugs_imported() -> Harness {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    h.drop_file(
        &format!("incoming/{ACCOUNT}/catalog/all.csv"),
        &csv(&[row("A", "Mug", 5, "18.00 USD")]),
    )
    .await;
    h.stripe_ends(&h.last_import_id(), "succeeded", 1, None)
        .await;
    h
}

#[tokio::test]
async fn completing_an_import_again_never_gives_away_held_stock() {
    use crate::store::StockHolds;
    let h = mugs_imported().await;
    let far = h.clock.now_millis() + 3_600_000;
    h.uploader
        .catalog
        .place(&mug_hold("req_1", 2, far))
        .await
        .unwrap();
    let sku = |h: &Harness| {
        let record = h.uploader.catalog.sku_records(ACCOUNT)["A"].clone();
        (record.available, record.held)
    };
    assert_eq!(sku(&h), (Some(3), Some(2)));
    // The completion runs again (a retried invocation): the feed's 5, less the 2 held.
    let record = h.latest_import().await;
    h.uploader
        .finish(record, ImportStatus::Succeeded, None)
        .await
        .unwrap();
    assert_eq!(sku(&h), (Some(3), Some(2)));
}

#[tokio::test]
async fn the_schedule_gives_back_the_stock_of_holds_past_their_time() {
    use crate::store::StockHolds;
    let h = mugs_imported().await;
    let soon = h.clock.now_millis() + 30 * MINUTE;
    h.uploader
        .catalog
        .place(&mug_hold("req_1", 2, soon))
        .await
        .unwrap();
    assert_eq!(h.uploader.on_schedule().await.unwrap().holds_expired, 0);
    h.clock.advance_millis(31 * MINUTE);
    assert_eq!(h.uploader.on_schedule().await.unwrap().holds_expired, 1);
    assert_eq!(h.uploader.on_schedule().await.unwrap().holds_expired, 0);
    let record = &h.uploader.catalog.sku_records(ACCOUNT)["A"];
    assert_eq!((record.available, record.held), (Some(5), Some(0)));
}
