//! Hostile files cannot grow what the uploader keeps: `validation.csv` streams out with a
//! byte cap, whatever the row cap says.

use super::*;
use crate::uploader::intake::MAX_VALIDATION_REPORT_BYTES;

#[tokio::test]
async fn a_file_of_long_bad_rows_gets_a_report_no_larger_than_its_byte_cap() {
    let mut h = harness(vec![merchant(ApiGeneration::V1, ValidationMode::Lenient)]);
    h.uploader.settings.max_report_rows = 1_000_000;
    // Every row has a price Stripe's spec refuses and a 20 kB description: 2 000 of them
    // make a 40 MB report if nothing stops it.
    let long = "x".repeat(20_000);
    let rows: Vec<String> = (0..2_000)
        .map(|i| row(&format!("SKU{i}"), &long, 1, "twelve dollars"))
        .collect();
    let body = csv(&rows);
    assert!(body.len() > 2 * MAX_VALIDATION_REPORT_BYTES);
    h.drop_file(&format!("incoming/{ACCOUNT}/catalog/long.csv"), &body)
        .await;

    let report = h
        .bucket
        .get(
            BUCKET,
            &format!("reports/{ACCOUNT}/long.csv/validation.csv"),
        )
        .expect("the failed rows are reported");
    let longest_row = 2 * long.len() + 1_000;
    assert!(
        report.len() <= MAX_VALIDATION_REPORT_BYTES + longest_row,
        "{} bytes",
        report.len()
    );
    let kept = report.iter().filter(|b| **b == b'\n').count() as u64 - 1;
    let status = h.status("long.csv");
    assert_eq!(status["rows_with_errors"], 2_000);
    assert_eq!(
        status["rows_left_out_of_validation_csv"].as_u64(),
        Some(2_000 - kept),
        "every failed row is counted, kept or not"
    );
    assert!(kept > 0 && kept < 2_000);
}
