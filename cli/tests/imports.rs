//! `acb catalog imports list|show` against DynamoDB Local.

use std::process::Command;

use shared::bucket::ObjectRef;
use shared::imports::{Feed, FileFormat, ImportCounts, ImportRecord, ImportStatus, QueuedFile};
use shared::merchants::ApiGeneration;
use shared::store::ImportLog;
use shared::store::dynamo::DynamoCatalog;

fn acb(table: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(args)
        .env("CATALOG_TABLE", table)
        .output()
        .expect("run acb");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

fn record(key: &str, status: ImportStatus, created_at: i64) -> ImportRecord {
    let object = ObjectRef {
        bucket: "b".into(),
        key: format!("incoming/acct_1CliImports/catalog/{key}.csv"),
        version_id: None,
        etag: None,
        size: 10,
    };
    ImportRecord {
        account_id: "acct_1CliImports".into(),
        import_key: key.into(),
        feed: Feed::Product,
        generation: ApiGeneration::V2,
        mode: shared::imports::ImportMode::Upsert,
        sources: vec![QueuedFile {
            object: object.clone(),
            name: format!("{key}.csv"),
            format: FileFormat::Csv,
            replace: false,
            arrived_at: created_at,
            rows: 5,
            rows_with_errors: 1,
            rows_left_out_of_report: 0,
        }],
        upload: object,
        status,
        stripe_status: Some("succeeded_with_errors".into()),
        stripe_file_id: None,
        stripe_import_id: Some("pcimprt_1".into()),
        counts: ImportCounts {
            rows: 5,
            rows_with_errors: 1,
            stripe_successes: Some(4),
            stripe_errors: Some(1),
        },
        failure: None,
        report_keys: vec!["reports/acct_1CliImports/x.csv/stripe-errors.csv".into()],
        created_at,
        updated_at: created_at,
        incremental: None,
        sku_rows_applied: None,
    }
}

#[tokio::test]
async fn list_is_newest_first_and_show_has_every_field() {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, testkit::CATALOG).await;
    let catalog = DynamoCatalog::new(dynamo, &table);
    catalog
        .put_import(&record("0001800000000000-aaaa", ImportStatus::Succeeded, 1))
        .await
        .unwrap();
    catalog
        .put_import(&record(
            "0001800000060000-bbbb",
            ImportStatus::SucceededWithErrors,
            2,
        ))
        .await
        .unwrap();

    let (ok, out, err) = acb(&table, &["catalog", "imports", "list", "acct_1CliImports"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("0001800000060000-bbbb")
            && lines[0].contains("succeeded_with_errors")
            && lines[0].contains("stripe_failed=1"),
        "{out}"
    );
    let (ok, out, _) = acb(
        &table,
        &[
            "catalog",
            "imports",
            "show",
            "acct_1CliImports",
            "0001800000000000-aaaa",
            "--json",
        ],
    );
    assert!(ok);
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["stripe_import_id"], "pcimprt_1");
    let (ok, _, err) = acb(
        &table,
        &["catalog", "imports", "show", "acct_1CliImports", "nope"],
    );
    assert!(!ok && err.contains("no import"), "{err}");
}

#[tokio::test]
async fn upload_puts_the_file_where_a_merchant_drop_lands() {
    let s3 = testkit::s3().await;
    let bucket = testkit::fresh_bucket(&s3).await;
    let dir = std::env::temp_dir().join(format!("acb-upload-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("inventory")).unwrap();
    let file = dir.join("inventory").join("stock today.csv");
    std::fs::write(
        &file,
        "id,availability,inventory_quantity\nSKU-1,in_stock,3\n",
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args([
            "catalog",
            "upload",
            file.to_str().unwrap(),
            "--account",
            "acct_1Up",
            "--bucket",
            &bucket,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains(&format!(
            "to s3://{bucket}/incoming/acct_1Up/inventory/stock today.csv"
        )) && text.contains(&format!(
            "reports will be under s3://{bucket}/reports/acct_1Up/stock today.csv/"
        )),
        "{text}"
    );
    let body = testkit::read_object(&s3, &bucket, "incoming/acct_1Up/inventory/stock today.csv")
        .await
        .expect("uploaded");
    assert!(body.starts_with(b"id,availability"));

    // --json: where it went, which version, where the reports will be.
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args([
            "catalog",
            "upload",
            file.to_str().unwrap(),
            "--account",
            "acct_1Up",
            "--feed",
            "pricing",
            "--json",
        ])
        .env("CATALOG_BUCKET", &bucket)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let uploaded: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let key = "incoming/acct_1Up/pricing/stock today.csv";
    assert_eq!(uploaded["bucket"], bucket.as_str());
    assert_eq!(uploaded["key"], key);
    assert_eq!(
        uploaded["reports_prefix"],
        "reports/acct_1Up/stock today.csv/"
    );
    // The test bucket is versioned, like the stack's: the version is the one S3 stored.
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect("the object is there");
    assert_eq!(
        uploaded["version_id"].as_str(),
        Some(head.version_id().expect("a versioned bucket"))
    );
    assert_eq!(uploaded.as_object().unwrap().len(), 4, "{uploaded}");

    // No bucket: the error names the flag and the variable.
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args([
            "catalog",
            "upload",
            file.to_str().unwrap(),
            "--account",
            "acct_1Up",
        ])
        .env_remove("CATALOG_BUCKET")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("--bucket") && err.contains("CATALOG_BUCKET"),
        "{err}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args([
            "catalog",
            "upload",
            file.to_str().unwrap(),
            "--account",
            "cus_1",
            "--bucket",
            &bucket,
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let _ = std::fs::remove_dir_all(dir);
}

/// Above one part (8 MiB) the file goes up in parts, streamed from disk; the object is the
/// file byte for byte, the version is the completed upload's, and without a terminal no
/// progress bar reaches stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_upload_goes_in_parts() {
    let s3 = testkit::s3().await;
    let bucket = testkit::fresh_bucket(&s3).await;
    let dir = std::env::temp_dir().join(format!("acb-upload-large-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("big.csv");
    let mut body = b"id,availability,inventory_quantity\n".to_vec();
    let mut i = 0u64;
    while body.len() < 20 * 1024 * 1024 + 123 {
        body.extend_from_slice(format!("SKU-{i},in_stock,{}\n", i % 97).as_bytes());
        i += 1;
    }
    std::fs::write(&file, &body).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args([
            "catalog",
            "upload",
            file.to_str().unwrap(),
            "--account",
            "acct_1Up",
            "--feed",
            "inventory",
            "--bucket",
            &bucket,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let uploaded: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let key = "incoming/acct_1Up/inventory/big.csv";
    assert_eq!(uploaded["key"], key);
    let head = s3
        .head_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .expect("the object is there");
    assert_eq!(
        uploaded["version_id"].as_str(),
        Some(head.version_id().expect("a versioned bucket"))
    );
    assert!(
        head.e_tag().is_some_and(|etag| etag.contains("-3")),
        "three parts: {:?}",
        head.e_tag()
    );
    let stored = testkit::read_object(&s3, &bucket, key)
        .await
        .expect("uploaded");
    assert!(stored == body, "the object is the file, byte for byte");
    let _ = std::fs::remove_dir_all(dir);
}
