//! Incremental uploads over the fake Stripe: a re-dropped catalog sends only the rows that
//! changed (and, for a v2 replace file, deletion rows for what it lacks); rows Stripe
//! failed go again; the merchant's setting, the snapshot's bound, failed imports and other
//! feeds' changes all fall back to what a whole upload does.

use super::*;
use crate::imports::model::ImportMode;
use crate::uploader::incremental::{ROW_CAP, sent_snapshot_key};

fn rows(ids: impl IntoIterator<Item = usize>) -> Vec<String> {
    ids.into_iter()
        .map(|i| row(&format!("SKU-{i:04}"), &format!("Mug {i}"), 5, "18.00 USD"))
        .collect()
}

impl Harness {
    /// Drops `body` 16 minutes after the last step (past the upload interval).
    async fn drop_later(&self, name: &str, body: &str) {
        self.clock.advance_millis(16 * MINUTE);
        let outcome = self
            .drop_file(&format!("incoming/{ACCOUNT}/catalog/{name}"), body)
            .await;
        assert!(matches!(outcome, FileOutcome::Queued { .. }), "{outcome:?}");
    }

    /// Stripe finishes the latest import and says so; the uploader completes it.
    async fn stripe_finishes(&self, status: &str, successes: u64, errors: Option<&str>) {
        self.stripe_ends(&self.last_import_id(), status, successes, errors)
            .await;
        assert!(self.slot().await.in_flight.is_none());
    }

    /// The rows (without header) of the object Stripe got for the latest import.
    async fn sent_rows(&self) -> Vec<String> {
        let record = self.latest_import().await;
        let sent = record.sent_object().expect("something was sent");
        let body = String::from_utf8(self.bucket.get(BUCKET, &sent.key).unwrap()).unwrap();
        body.lines().skip(1).map(str::to_string).collect()
    }

    fn snapshot(&self) -> String {
        String::from_utf8(
            self.bucket
                .get(BUCKET, &sent_snapshot_key(ACCOUNT, Feed::Product))
                .expect("a snapshot"),
        )
        .unwrap()
    }
}

fn ids_of(rows: &[String]) -> Vec<String> {
    rows.iter()
        .map(|r| r.split(',').next().unwrap_or_default().to_string())
        .collect()
}

async fn one_percent_changed_sends_those_rows_only(generation: ApiGeneration) {
    let h = harness(vec![merchant(generation, ValidationMode::Lenient)]);
    let base = csv(&rows(0..1_000));
    h.drop_later("all.csv", &base).await;
    let first = h.uploader.stripe.uploads();
    assert_eq!(
        first[0].length,
        base.len() as u64,
        "the first upload goes whole"
    );
    assert_eq!(
        h.status("all.csv")["incremental"]["full_because"]
            .as_str()
            .map(|s| s.contains("no snapshot")),
        Some(true)
    );
    h.stripe_finishes("succeeded", 1_000, None).await;
    assert_eq!(
        h.snapshot().lines().count(),
        1_002,
        "header, 1 000 ids, end"
    );

    let changed: Vec<usize> = (0..10).map(|i| i * 97 + 3).collect();
    let mut again = rows(0..1_000);
    for i in &changed {
        again[*i] = row(&format!("SKU-{i:04}"), &format!("Mug {i}"), 4, "18.00 USD");
    }
    let body = csv(&again);
    h.drop_later("all.csv", &body).await;

    let uploads = h.uploader.stripe.uploads();
    assert_eq!(uploads.len(), 2);
    let record = h.latest_import().await;
    let delta = record.sent_object().expect("a delta").clone();
    assert!(delta.key.ends_with(".delta.csv"), "{}", delta.key);
    assert_eq!(uploads[1].length, delta.size, "Stripe got the delta");
    assert_eq!(uploads[1].filename, "all.csv");
    let sent = h.sent_rows().await;
    let expected: Vec<String> = changed.iter().map(|i| format!("SKU-{i:04}")).collect();
    assert_eq!(ids_of(&sent), expected);
    assert_eq!(sent[0], again[3], "the rows go as they are in the file");
    assert!(
        delta.size * 50 < body.len() as u64,
        "{} of {}",
        delta.size,
        body.len()
    );

    let status = h.status("all.csv");
    let incremental = &status["incremental"];
    assert_eq!(incremental["applied"], true, "{status}");
    assert_eq!(
        (
            incremental["unchanged"].as_u64(),
            incremental["changed"].as_u64(),
            incremental["new"].as_u64(),
            incremental["deleted"].as_u64(),
            incremental["rows_sent"].as_u64(),
        ),
        (Some(990), Some(10), Some(0), Some(0), Some(10))
    );
    assert_eq!(incremental["bytes_sent"].as_u64(), Some(delta.size));
    assert_eq!(
        incremental["bytes_in_file"].as_u64(),
        Some(body.len() as u64)
    );
    assert_eq!(status["rows"], 1_000, "the report covers the whole file");

    // Stripe accepts: the SKU records come from the whole file, as after a whole upload.
    h.stripe_finishes("succeeded", 10, None).await;
    let skus = h.uploader.catalog.sku_records(ACCOUNT);
    assert_eq!(skus.len(), 1_000);
    assert_eq!(skus["SKU-0003"].quantity, Some(4));
    assert_eq!(skus["SKU-0004"].quantity, Some(5));
    assert!(
        skus.values().all(|s| s.source_import == record.import_key),
        "every row of the file set its SKU record"
    );
}

#[tokio::test]
async fn v1_a_redrop_with_one_percent_changed_sends_only_those_rows() {
    one_percent_changed_sends_those_rows_only(ApiGeneration::V1).await;
}

#[tokio::test]
async fn v2_a_redrop_with_one_percent_changed_sends_only_those_rows() {
    one_percent_changed_sends_those_rows_only(ApiGeneration::V2).await;
}

#[tokio::test]
async fn a_replace_file_goes_as_an_upsert_of_its_new_rows_and_deletions() {
    let h = harness(vec![merchant(ApiGeneration::V2, ValidationMode::Lenient)]);
    h.drop_later("full.replace.csv", &csv(&rows(0..100))).await;
    assert!(
        h.uploader.stripe.uploads()[0].replace,
        "first: a whole replace"
    );
    h.stripe_finishes("succeeded", 100, None).await;

    // Five products gone (0–4), three new ones (100–102), the rest as they were.
    let body = csv(&rows((5..100).chain(100..103)));
    h.drop_later("full.replace.csv", &body).await;
    let uploads = h.uploader.stripe.uploads();
    assert_eq!(uploads.len(), 2);
    assert!(
        uploads[1].v2 && !uploads[1].replace,
        "an upsert, or Stripe would delete every row left out: {:?}",
        uploads[1]
    );
    let record = h.latest_import().await;
    assert_eq!(record.mode, ImportMode::Replace, "what the merchant asked");
    let delta = h
        .bucket
        .get(BUCKET, &record.sent_object().unwrap().key)
        .unwrap();
    let delta = String::from_utf8(delta).unwrap();
    let mut lines = delta.lines();
    assert_eq!(lines.next(), Some(format!("{HEADER},delete").as_str()));
    let sent: Vec<&str> = lines.collect();
    let blanks = ",".repeat(HEADER.split(',').count() - 1);
    let expected: Vec<String> = rows(100..103)
        .into_iter()
        .map(|r| format!("{r},"))
        .chain((0..5).map(|i| format!("SKU-{i:04}{blanks},true")))
        .collect();
    assert_eq!(sent, expected);
    let incremental = &h.status("full.replace.csv")["incremental"];
    assert_eq!(
        (
            incremental["new"].as_u64(),
            incremental["deleted"].as_u64(),
            incremental["unchanged"].as_u64(),
            incremental["changed"].as_u64()
        ),
        (Some(3), Some(5), Some(95), Some(0))
    );

    h.stripe_finishes("succeeded", 8, None).await;
    let snapshot = h.snapshot();
    assert_eq!(snapshot.lines().count(), 2 + 98, "{snapshot}");
    assert!(!snapshot.contains("\tSKU-0004\n") && snapshot.contains("\tSKU-0102\n"));
}

#[tokio::test]
async fn rows_stripe_failed_go_again_even_when_unchanged() {
    let h = harness(vec![merchant(ApiGeneration::V2, ValidationMode::Lenient)]);
    let body = csv(&rows(0..20));
    h.drop_later("all.csv", &body).await;
    let report = |rows: &[String]| {
        let mut text = format!("stripe_error_message,{HEADER}\n");
        for r in rows {
            text.push_str(&format!("image could not be fetched,{r}\n"));
        }
        text
    };
    let first = rows(0..20);
    h.stripe_finishes("succeeded_with_errors", 19, Some(&report(&first[5..6])))
        .await;

    // The same file: only the new row Stripe failed goes again.
    h.drop_later("all.csv", &body).await;
    assert_eq!(ids_of(&h.sent_rows().await), ["SKU-0005"]);
    assert_eq!(h.status("all.csv")["incremental"]["new"], 1);
    h.stripe_finishes("succeeded", 1, None).await;

    // A change Stripe fails is sent again while the file keeps it.
    let mut changed = rows(0..20);
    changed[7] = row("SKU-0007", "Mug 7", 9, "18.00 USD");
    let body = csv(&changed);
    h.drop_later("all.csv", &body).await;
    assert_eq!(ids_of(&h.sent_rows().await), ["SKU-0007"]);
    h.stripe_finishes("succeeded_with_errors", 0, Some(&report(&changed[7..8])))
        .await;
    h.drop_later("all.csv", &body).await;
    assert_eq!(ids_of(&h.sent_rows().await), ["SKU-0007"]);
    assert_eq!(h.status("all.csv")["incremental"]["changed"], 1);
}

#[tokio::test]
async fn with_the_setting_off_every_file_goes_whole() {
    let mut off = merchant(ApiGeneration::V2, ValidationMode::Lenient);
    off.incremental_uploads = false;
    let h = harness(vec![off]);
    let body = csv(&rows(0..50));
    for _ in 0..2 {
        h.drop_later("all.replace.csv", &body).await;
        h.stripe_finishes("succeeded", 50, None).await;
    }
    let uploads = h.uploader.stripe.uploads();
    assert_eq!(uploads.len(), 2);
    assert!(
        uploads
            .iter()
            .all(|u| u.length == body.len() as u64 && u.replace)
    );
    let status = h.status("all.replace.csv");
    assert_eq!(status["incremental"]["applied"], false);
    assert_eq!(
        status["incremental"]["full_because"],
        "incremental uploads are off for this merchant"
    );
    assert!(
        h.snapshot().starts_with("acb-snapshot v1 none product"),
        "a tombstone: turned on again, the next upload goes whole"
    );
}

#[tokio::test]
async fn an_unchanged_redrop_calls_no_stripe_and_succeeds() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    let body = csv(&rows(0..30));
    h.drop_later("all.csv", &body).await;
    h.stripe_finishes("succeeded", 30, None).await;
    let snapshot = h.snapshot();

    h.drop_later("again.csv", &body).await;
    assert_eq!(h.uploader.stripe.uploads().len(), 1, "Stripe is not called");
    assert!(h.slot().await.in_flight.is_none(), "the slot is free");
    let status = h.status("again.csv");
    assert_eq!(status["status"], "succeeded", "{status}");
    assert_eq!(status["rows"], 30);
    assert_eq!(status["stripe_import_id"], Value::Null);
    let incremental = &status["incremental"];
    assert_eq!(
        (
            incremental["unchanged"].as_u64(),
            incremental["rows_sent"].as_u64(),
            incremental["bytes_sent"].as_u64(),
            incremental["delta"].clone()
        ),
        (Some(30), Some(0), Some(0), Value::Null)
    );
    let record = h.latest_import().await;
    assert_eq!(record.status, ImportStatus::Succeeded);
    assert!(
        !h.bucket.keys().iter().any(|k| k.contains(".delta.")),
        "no empty delta is written"
    );
    let promoted = h.snapshot();
    assert_eq!(
        promoted.lines().skip(1).collect::<Vec<_>>(),
        snapshot.lines().skip(1).collect::<Vec<_>>()
    );
    let skus = h.uploader.catalog.sku_records(ACCOUNT);
    assert_eq!(skus["SKU-0001"].source_import, record.import_key);
}

#[tokio::test]
async fn past_the_snapshot_bound_the_file_goes_whole_and_says_so() {
    ROW_CAP.with(|cap| cap.set(10));
    let h = harness(vec![merchant(ApiGeneration::V2, ValidationMode::Lenient)]);
    h.drop_later("a.csv", &csv(&rows(0..8))).await;
    h.stripe_finishes("succeeded", 8, None).await;
    // An upsert adds to the snapshot: 16 ids, past the bound of 10.
    h.drop_later("b.csv", &csv(&rows(8..16))).await;
    assert_eq!(h.status("b.csv")["incremental"]["applied"], true);
    h.stripe_finishes("succeeded", 8, None).await;
    let body = csv(&rows(0..8));
    h.drop_later("c.csv", &body).await;
    let incremental = &h.status("c.csv")["incremental"];
    assert_eq!(incremental["applied"], false);
    assert!(
        incremental["full_because"]
            .as_str()
            .is_some_and(|r| r.contains("past its bound of 10 rows")),
        "{incremental}"
    );
    assert_eq!(
        h.uploader.stripe.uploads()[2].length,
        body.len() as u64,
        "the whole file went"
    );
    h.stripe_finishes("succeeded", 8, None).await;
    let body = csv(&rows(0..12));
    h.drop_later("d.csv", &body).await;
    let incremental = &h.status("d.csv")["incremental"];
    assert!(
        incremental["full_because"]
            .as_str()
            .is_some_and(|r| r.contains("more than 10 rows")),
        "{incremental}"
    );
    assert_eq!(h.uploader.stripe.uploads()[3].length, body.len() as u64);
    ROW_CAP.with(|cap| cap.set(crate::imports::snapshot::SNAPSHOT_MAX_ROWS));
}

#[tokio::test]
async fn after_an_import_stripe_failed_the_next_upload_goes_whole() {
    let h = harness(vec![merchant(ApiGeneration::V2, ValidationMode::Lenient)]);
    let body = csv(&rows(0..10));
    h.drop_later("all.csv", &body).await;
    h.stripe_finishes("succeeded", 10, None).await;
    let mut changed = rows(0..10);
    changed[2] = row("SKU-0002", "Mug 2", 1, "18.00 USD");
    h.drop_later("all.csv", &csv(&changed)).await;
    assert_eq!(h.sent_rows().await.len(), 1);
    h.stripe_finishes("failed", 0, None).await;
    assert!(h.snapshot().starts_with("acb-snapshot v1 none"));
    h.drop_later("all.csv", &body).await;
    let uploads = h.uploader.stripe.uploads();
    assert_eq!(uploads[2].length, body.len() as u64);
}

#[tokio::test]
async fn rows_another_feed_changed_go_again_with_the_product_feed() {
    let h = harness(vec![merchant(ApiGeneration::V2, ValidationMode::Lenient)]);
    let body = csv(&rows(0..10));
    h.drop_later("all.csv", &body).await;
    h.stripe_finishes("succeeded", 10, None).await;
    // The inventory feed sets SKU-0003's stock at Stripe.
    h.clock.advance_millis(MINUTE);
    h.drop_file(
        &format!("incoming/{ACCOUNT}/inventory/stock.csv"),
        "id,availability,inventory_quantity\nSKU-0003,in_stock,1\n",
    )
    .await;
    h.stripe_ends(&h.last_import_id(), "succeeded", 1, None)
        .await;
    // The same catalog again resets SKU-0003's stock, as a whole upload would.
    h.drop_later("all.csv", &body).await;
    assert_eq!(ids_of(&h.sent_rows().await), ["SKU-0003"]);
    let incremental = &h.status("all.csv")["incremental"];
    assert_eq!(
        (
            incremental["changed"].as_u64(),
            incremental["unchanged"].as_u64()
        ),
        (Some(1), Some(9))
    );
}

#[tokio::test]
async fn inventory_rows_stripe_failed_keep_their_sku_and_go_again() {
    let h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    h.drop_later("all.csv", &csv(&rows(0..3))).await;
    h.stripe_finishes("succeeded", 3, None).await;
    let key = format!("incoming/{ACCOUNT}/inventory/stock.csv");
    let stock = "id,availability,inventory_quantity\nSKU-0000,in_stock,7\nSKU-0001,out_of_stock,0\nSKU-0002,in_stock,9\n";
    let report = "stripe_error_message,id,availability,inventory_quantity\nquantity refused,SKU-0001,out_of_stock,0\n";
    for round in 0..2 {
        h.clock.advance_millis(16 * MINUTE);
        h.drop_file(&key, stock).await;
        let record = h.latest_import().await;
        let sent = String::from_utf8(
            h.bucket
                .get(BUCKET, &record.sent_object().expect("sent").key)
                .unwrap(),
        )
        .unwrap();
        let ids: Vec<&str> = sent
            .lines()
            .skip(1)
            .filter_map(|l| l.split(',').next())
            .collect();
        if round == 0 {
            assert_eq!(ids, ["SKU-0000", "SKU-0001", "SKU-0002"], "first: whole");
        } else {
            assert_eq!(ids, ["SKU-0001"], "only the row Stripe failed goes again");
        }
        h.stripe_ends(
            &h.last_import_id(),
            "succeeded_with_errors",
            2,
            Some(report),
        )
        .await;
    }
    // The error file is read as an inventory file: the failed row leaves the SKU alone.
    let skus = h.uploader.catalog.sku_records(ACCOUNT);
    assert_eq!(
        (skus["SKU-0000"].quantity, skus["SKU-0001"].quantity),
        (Some(7), Some(5))
    );
}

#[tokio::test]
async fn an_error_file_that_cannot_be_read_leaves_no_snapshot_to_trust() {
    let h = harness(vec![merchant(ApiGeneration::V2, ValidationMode::Lenient)]);
    let body = csv(&rows(0..5));
    h.drop_later("all.csv", &body).await;
    h.stripe_finishes("succeeded_with_errors", 4, Some("not,a,feed\n1,2,3\n"))
        .await;
    assert!(h.snapshot().starts_with("acb-snapshot v1 none"));
    h.drop_later("all.csv", &body).await;
    assert_eq!(h.uploader.stripe.uploads()[1].length, body.len() as u64);
}

#[tokio::test]
async fn a_replace_import_stops_the_checkout_selling_what_the_file_left_out() {
    use crate::holds::{Hold, HoldLine, HoldStatus};
    use crate::skus::SkuChange;
    use crate::store::{SkuRecords as _, StockHolds as _};

    // Sent as a delta with deletion rows, or whole as Stripe's `replace`: the same result.
    for incremental in [true, false] {
        let mut seller = merchant(ApiGeneration::V2, ValidationMode::Lenient);
        seller.incremental_uploads = incremental;
        let h = harness(vec![seller]);
        h.drop_later("full.replace.csv", &csv(&rows(0..10))).await;
        h.stripe_finishes("succeeded", 10, None).await;
        // A SKU only an inventory row named, and two units of SKU-0001 held by a checkout.
        let now = h.clock.now_millis();
        h.uploader
            .catalog
            .apply_sku_changes(
                ACCOUNT,
                "inventory-import",
                now,
                &[SkuChange::Stock {
                    sku: "SKU-0099".into(),
                    availability: Availability::InStock,
                    quantity: Some(3),
                }],
            )
            .await
            .unwrap();
        let hold = Hold {
            account_id: ACCOUNT.into(),
            hold_id: "hold_1".into(),
            fingerprint: "fp".into(),
            session_id: None,
            lines: vec![HoldLine {
                sku: "SKU-0001".into(),
                quantity: 2,
            }],
            status: HoldStatus::Open,
            created_at: now,
            expires_at: now + 30 * MINUTE,
            order_session: None,
            placed_lines: None,
            ending_to: None,
            ending_moved: None,
        };
        h.uploader.catalog.place(&hold).await.unwrap();

        // An upsert file leaves every other product alone.
        h.drop_later("more.csv", &csv(&rows(10..12))).await;
        h.stripe_finishes("succeeded", 2, None).await;
        assert_eq!(h.uploader.catalog.sku_records(ACCOUNT).len(), 13);
        assert_eq!(h.metrics.sum("SkusRetired", &[]), 0.0);

        // The whole catalog again, without SKU-0000, SKU-0001 and SKU-0099.
        h.drop_later("full.replace.csv", &csv(&rows(2..12))).await;
        h.stripe_finishes("succeeded", 10, None).await;
        let skus = h.uploader.catalog.sku_records(ACCOUNT);
        let expected: Vec<String> = std::iter::once("SKU-0001".to_string())
            .chain((2..12).map(|i| format!("SKU-{i:04}")))
            .collect();
        assert_eq!(
            skus.keys().cloned().collect::<Vec<_>>(),
            expected,
            "incremental {incremental}"
        );
        let held = &skus["SKU-0001"];
        assert_eq!(
            (held.availability, held.held),
            (Availability::OutOfStock, Some(2)),
            "kept for its hold, not sold: incremental {incremental}"
        );
        assert!(
            skus.values()
                .filter(|r| r.sku != "SKU-0001")
                .all(|r| r.availability == Availability::InStock)
        );
        assert_eq!(h.metrics.sum("SkusRetired", &[]), 3.0);
    }
}
