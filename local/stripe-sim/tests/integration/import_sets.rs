//! v1 import sets: lifecycle, error files, failures, the beta header, scoping, idempotency,
//! the update-interval rule, delays and forced (out-of-order) completion.

use crate::common::{ACCT, BETA, Env, OTHER, Upload, body};
use serde_json::{Value, json};
use stripe_sim::SimConfig;

const GOOD: &str = "id,title,price,availability,inventory_quantity\n\
                    SKU-1,Trail shoe,15.00 USD,in_stock,3\n\
                    SKU-2,\"Cap, red\",9.50 USD,preorder,0\n";

const MIXED: &str = "id,title,price,availability,inventory_quantity\n\
                     SKU-1,Trail shoe,15.00 USD,in_stock,3\n\
                     SKU-2,Hat,15 dollars,in_stock,1\n\
                     ,Nameless,1.00 USD,in_stock,1\n\
                     SKU-3,\"Sock, \"\"wool\"\"\",2.00 USD,sometimes,-4\n";

async fn file_contents(env: &Env, account: &str, id: &str) -> String {
    let resp = env
        .get(&format!("/v1/files/{id}/contents"), Some(account))
        .send()
        .await
        .expect("contents");
    assert_eq!(resp.status().as_u16(), 200);
    resp.text().await.expect("text")
}

async fn import(env: &Env, account: &str, csv: Upload<'_>, format: &str) -> Value {
    let file = env.file(Some(account), &csv).await;
    let (status, created) = env.create_import_set(Some(account), &file, format).await;
    assert_eq!(status, 200, "{created}");
    created
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn lifecycle_to_succeeded() {
    let env = Env::start().await;
    let created = import(&env, ACCT, Upload::csv(GOOD), "product_catalog_feed").await;
    assert!(id(&created).starts_with("impset_"));
    assert_eq!(created["object"], "data_management.import_set");
    assert_eq!(created["livemode"], false);
    assert_eq!(created["status"], "pending");
    assert_eq!(created["failed_reason"], Value::Null);
    assert!(created["created"].is_i64());

    let (status, done) = env.import_set(Some(ACCT), &id(&created)).await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(
        done["result"],
        json!({
            "errors": {"file": null, "row_count": 0},
            "rows_processed": 2,
            "successes": {"row_count": 2},
            "objects_created": 2,
            "skipped_by_filter": 0,
            "skipped_duplicates": 0,
        })
    );
    let catalog = env.catalog(ACCT).await;
    assert_eq!(catalog["imports"], json!([id(&created)]));
    assert_eq!(catalog["products"]["SKU-2"]["title"], "Cap, red");
    assert_eq!(catalog["products"]["SKU-1"]["price"], "15.00 USD");

    // Inventory feed: updates the listed SKUs only, and delete rows remove products.
    let inventory = "id,availability,inventory_quantity\nSKU-1,out_of_stock,0\n";
    import(&env, ACCT, Upload::csv(inventory), "inventory_feed").await;
    let deletion = "id,delete\nSKU-2,true\n";
    import(&env, ACCT, Upload::csv(deletion), "product_catalog_feed").await;
    let catalog = env.catalog(ACCT).await;
    assert_eq!(
        catalog["products"],
        json!({"SKU-1": {"id": "SKU-1", "title": "Trail shoe", "price": "15.00 USD", "availability": "out_of_stock", "inventory_quantity": "0"}})
    );
    assert_eq!(catalog["imports"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn row_errors_make_an_error_file_of_failed_rows() {
    let env = Env::start().await;
    let created = import(&env, ACCT, Upload::csv(MIXED), "product_catalog_feed").await;
    let (_, done) = env.import_set(Some(ACCT), &id(&created)).await;
    assert_eq!(done["status"], "succeeded_with_errors");
    assert_eq!(done["result"]["rows_processed"], 4);
    assert_eq!(done["result"]["successes"]["row_count"], 1);
    assert_eq!(done["result"]["errors"]["row_count"], 3);
    let file = done["result"]["errors"]["file"]
        .as_str()
        .expect("error file");
    assert!(file.starts_with("file_"));
    let report = file_contents(&env, ACCT, file).await;
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
        lines[0],
        "stripe_error_message,id,title,price,availability,inventory_quantity"
    );
    assert_eq!(
        lines.len(),
        4,
        "header plus the three failed rows: {report}"
    );
    assert!(lines[1].ends_with(",SKU-2,Hat,15 dollars,in_stock,1"));
    assert!(lines[1].contains("price"));
    assert!(lines[2].ends_with(",,Nameless,1.00 USD,in_stock,1"));
    // Quoted fields stay quoted; all three problems of the row are reported.
    assert!(lines[3].ends_with(",SKU-3,\"Sock, \"\"wool\"\"\",2.00 USD,sometimes,-4"));
    assert!(lines[3].contains("availability") && lines[3].contains("inventory_quantity"));
    assert!(!report.contains("SKU-1"));
    // Only the good row reached the catalog.
    let catalog = env.catalog(ACCT).await;
    let ids: Vec<&String> = catalog["products"]
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(ids, ["SKU-1"]);

    // A TSV source gets a TSV error file.
    let tsv = "id\tprice\nA\t1.00 USD\nB\tbad\n";
    let created = import(&env, ACCT, Upload::tsv(tsv), "product_catalog_feed").await;
    let (_, done) = env.import_set(Some(ACCT), &id(&created)).await;
    let file = done["result"]["errors"]["file"]
        .as_str()
        .expect("error file");
    let report = file_contents(&env, ACCT, file).await;
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "stripe_error_message\tid\tprice");
    assert!(lines[1].ends_with("\tB\tbad"));
    // The error file is the account's: invisible elsewhere.
    let resp = env
        .get(&format!("/v1/files/{file}/contents"), Some(OTHER))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn unreadable_files_fail() {
    let env = Env::start().await;
    let not_utf8 = Upload {
        bytes: b"id,title\nSKU-1,caf\xe9\n".to_vec(),
        ..Upload::csv("")
    };
    let no_id = Upload::csv("sku,title\nSKU-1,Shoe\n");
    let unterminated = Upload::csv("id,title\nSKU-1,\"Shoe\n");
    for upload in [not_utf8, no_id, unterminated] {
        let created = import(&env, ACCT, upload, "product_catalog_feed").await;
        let (_, done) = env.import_set(Some(ACCT), &id(&created)).await;
        assert_eq!(done["status"], "failed");
        assert!(done["failed_reason"].is_string(), "{done}");
        assert_eq!(done["result"]["successes"]["row_count"], 0);
    }
    let catalog = env.catalog(ACCT).await;
    assert_eq!(catalog["products"], json!({}));
}

#[tokio::test]
async fn the_beta_version_is_required() {
    let env = Env::start().await;
    let file = env.file(Some(ACCT), &Upload::csv(GOOD)).await;
    let form = [
        ("file", file.as_str()),
        ("standard_data_format", "product_catalog_feed"),
    ];
    for version in [None, Some("2025-09-30.clover")] {
        let mut req = env
            .post("/v1/data_management/import_sets", Some(ACCT))
            .form(&form);
        if let Some(version) = version {
            req = req.header("Stripe-Version", version);
        }
        let (status, _, v) = body(req.send().await.expect("send")).await;
        assert_eq!(status, 400);
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("udap_beta=v1"),
            "{v}"
        );
    }
    let (status, created) = env
        .create_import_set(Some(ACCT), &file, "product_catalog_feed")
        .await;
    assert_eq!(status, 200);
    let (status, _, _) = body(
        env.get(
            &format!("/v1/data_management/import_sets/{}", id(&created)),
            Some(ACCT),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, 400, "polling needs the beta too");
}

#[tokio::test]
async fn parameters_are_validated() {
    let env = Env::start().await;
    let file = env.file(Some(ACCT), &Upload::csv(GOOD)).await;
    let (status, v) = env.create_import_set(Some(ACCT), &file, "price_feed").await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["param"], "standard_data_format");
    let (status, v) = env
        .create_import_set(Some(ACCT), "file_1Missing", "product_catalog_feed")
        .await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["param"], "file");
}

#[tokio::test]
async fn imports_belong_to_their_account() {
    let env = Env::start().await;
    let file = env.file(Some(ACCT), &Upload::csv(GOOD)).await;
    // Another account cannot import this account's file.
    let (status, v) = env
        .create_import_set(Some(OTHER), &file, "product_catalog_feed")
        .await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], "resource_missing");
    let (_, created) = env
        .create_import_set(Some(ACCT), &file, "product_catalog_feed")
        .await;
    for account in [Some(OTHER), None] {
        assert_eq!(env.import_set(account, &id(&created)).await.0, 404);
    }
    assert_eq!(env.catalog(OTHER).await["imports"], json!([]));
    assert_eq!(
        env.catalog(ACCT).await["products"]
            .as_object()
            .map(|o| o.len()),
        Some(2)
    );
}

#[tokio::test]
async fn creation_replays_with_the_same_key() {
    let env = Env::start().await;
    let file = env.file(Some(ACCT), &Upload::csv(GOOD)).await;
    let send = |format: &'static str| {
        env.post("/v1/data_management/import_sets", Some(ACCT))
            .header("Stripe-Version", BETA)
            .header("Idempotency-Key", "impset-1")
            .form(&[("file", file.as_str()), ("standard_data_format", format)])
            .send()
    };
    let first = send("product_catalog_feed").await.expect("send");
    let first_body = first.bytes().await.expect("body");
    let second = send("product_catalog_feed").await.expect("send");
    assert_eq!(
        second
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(second.bytes().await.expect("body"), first_body);
    let (status, _, v) = body(send("inventory_feed").await.expect("send")).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["type"], "idempotency_error");
    assert_eq!(
        env.catalog(ACCT).await["imports"].as_array().map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn the_update_interval_is_enforced_per_account_and_feed() {
    let env = Env::with(SimConfig {
        min_import_interval_ms: 15 * 60 * 1000,
        ..SimConfig::default()
    })
    .await;
    let file = env.file(Some(ACCT), &Upload::csv(GOOD)).await;
    let first = env
        .post("/v1/data_management/import_sets", Some(ACCT))
        .header("Stripe-Version", BETA)
        .header("Idempotency-Key", "slot-1")
        .form(&[
            ("file", file.as_str()),
            ("standard_data_format", "product_catalog_feed"),
        ]);
    let (status, _, created) = body(first.send().await.expect("send")).await;
    assert_eq!(status, 200);
    let (status, v) = env
        .create_import_set(Some(ACCT), &file, "product_catalog_feed")
        .await;
    assert_eq!(status, 429);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["code"], "rate_limit");
    let message = v["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("15 minutes") && message.contains(&id(&created)),
        "{message}"
    );
    // A replay of the first creation is not a new import.
    let replay = env
        .post("/v1/data_management/import_sets", Some(ACCT))
        .header("Stripe-Version", BETA)
        .header("Idempotency-Key", "slot-1")
        .form(&[
            ("file", file.as_str()),
            ("standard_data_format", "product_catalog_feed"),
        ]);
    let (status, _, replayed) = body(replay.send().await.expect("send")).await;
    assert_eq!(status, 200);
    assert_eq!(replayed["id"], created["id"]);
    // Other feeds and other accounts have their own slots.
    let inventory = env
        .file(
            Some(ACCT),
            &Upload::csv("id,availability\nSKU-1,in_stock\n"),
        )
        .await;
    assert_eq!(
        env.create_import_set(Some(ACCT), &inventory, "inventory_feed")
            .await
            .0,
        200
    );
    let other = env.file(Some(OTHER), &Upload::csv(GOOD)).await;
    assert_eq!(
        env.create_import_set(Some(OTHER), &other, "product_catalog_feed")
            .await
            .0,
        200
    );
    // v2 imports of the same feed share the slot.
    let (status, v) = env
        .create_catalog_import(
            Some(ACCT),
            json!({"feed_type": "product", "mode": "upsert"}),
        )
        .await;
    assert_eq!(status, 429, "{v}");
}

#[tokio::test]
async fn delayed_imports_complete_out_of_order_when_forced() {
    let env = Env::with(SimConfig {
        processing_delay_ms: 3_600_000,
        ..SimConfig::default()
    })
    .await;
    let a = import(
        &env,
        ACCT,
        Upload::csv("id,title\nSKU-1,from A\n"),
        "product_catalog_feed",
    )
    .await;
    let b = import(
        &env,
        ACCT,
        Upload::csv("id,title\nSKU-1,from B\n"),
        "product_catalog_feed",
    )
    .await;
    let c = import(&env, ACCT, Upload::csv(GOOD), "product_catalog_feed").await;
    assert_eq!(
        env.import_set(Some(ACCT), &id(&a)).await.1["status"],
        "pending"
    );
    assert_eq!(env.catalog(ACCT).await["products"], json!({}));

    // B finishes before A, so A's row is the one that stays.
    let done = env
        .control(&format!("/_sim/imports/{}/complete", id(&b)), json!({}))
        .await;
    assert_eq!(done["import"]["status"], "succeeded");
    env.control(&format!("/_sim/imports/{}/complete", id(&a)), json!({}))
        .await;
    let catalog = env.catalog(ACCT).await;
    assert_eq!(catalog["products"]["SKU-1"]["title"], "from A");
    assert_eq!(catalog["imports"], json!([id(&a), id(&b), id(&c)]));

    let failed = env
        .control(
            &format!("/_sim/imports/{}/fail", id(&c)),
            json!({"message": "Stripe had a bad day"}),
        )
        .await;
    assert_eq!(failed["import"]["status"], "failed");
    let (_, v) = env.import_set(Some(ACCT), &id(&c)).await;
    assert_eq!(v["status"], "failed");
    assert_eq!(v["failed_reason"], "Stripe had a bad day");
    // Finished imports cannot be finished again.
    let (status, _) = env
        .control_raw(&format!("/_sim/imports/{}/complete", id(&c)), json!({}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = env
        .control_raw("/_sim/imports/impset_missing/complete", json!({}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_import_sets_path_is_configurable() {
    let env = Env::with(SimConfig {
        import_sets_path: "/v1/agentic_commerce/import_sets".into(),
        ..SimConfig::default()
    })
    .await;
    let file = env.file(Some(ACCT), &Upload::csv(GOOD)).await;
    let form = [
        ("file", file.as_str()),
        ("standard_data_format", "product_catalog_feed"),
    ];
    let (status, _, _) = body(
        env.post("/v1/data_management/import_sets", Some(ACCT))
            .header("Stripe-Version", BETA)
            .form(&form)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _, created) = body(
        env.post("/v1/agentic_commerce/import_sets", Some(ACCT))
            .header("Stripe-Version", BETA)
            .form(&form)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, done) = body(
        env.get(
            &format!("/v1/agentic_commerce/import_sets/{}", id(&created)),
            Some(ACCT),
        )
        .header("Stripe-Version", BETA)
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "succeeded");
}
