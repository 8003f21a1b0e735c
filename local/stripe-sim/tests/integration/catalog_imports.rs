//! v2 product catalog imports: upload URLs, processing, string counts, error files and
//! their expiring URLs, replace mode, the interval rule, idempotency and thin events.

use crate::common::{ACCT, Env, Hit, OTHER, Receiver, V2_VERSION, body};
use crate::webhooks::verify;
use serde_json::{Value, json};
use std::time::Duration;
use stripe_sim::SimConfig;

const GOOD: &str = "id,title,price,availability,inventory_quantity\n\
                    SKU-1,Trail shoe,15.00 USD,in_stock,3\n\
                    SKU-2,Cap,9.50 USD,backorder,0\n";
const MIXED: &str = "id,title,price\nSKU-1,Shoe,15.00 USD\nSKU-2,Hat,cheap\nSKU-3,Sock,1 EUR\n";

fn product_upsert() -> Value {
    json!({"feed_type": "product", "mode": "upsert"})
}

fn is_rfc3339_millis(v: &Value) -> bool {
    // 2025-01-02T03:04:05.678Z
    v.as_str().is_some_and(|s| {
        s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.'
    })
}

#[tokio::test]
async fn lifecycle_through_the_upload_url() {
    let env = Env::start().await;
    let (status, created) = env
        .create_catalog_import(
            Some(ACCT),
            json!({"feed_type": "product", "mode": "upsert", "metadata": {"batch": "7"}}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("pcimprt_"));
    assert_eq!(created["object"], "v2.commerce.product_catalog_import");
    assert_eq!(created["livemode"], false);
    assert_eq!(created["metadata"], json!({"batch": "7"}));
    assert_eq!(created["feed_type"], "product");
    assert_eq!(created["mode"], "upsert");
    assert_eq!(created["status"], "awaiting_upload");
    assert!(
        is_rfc3339_millis(&created["created"]),
        "{}",
        created["created"]
    );
    let upload_url = &created["status_details"]["awaiting_upload"]["upload_url"];
    assert!(
        upload_url["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&env.sim.base_url()))
    );
    assert!(is_rfc3339_millis(&upload_url["expires_at"]));
    // Reading it again shows the same URL while nothing was uploaded.
    let (_, again) = env.catalog_import(Some(ACCT), &id).await;
    assert_eq!(again, created);

    assert_eq!(
        env.put_upload(&created, GOOD.as_bytes(), "text/csv").await,
        200
    );
    // One upload per import.
    assert_eq!(
        env.put_upload(&created, GOOD.as_bytes(), "text/csv").await,
        409
    );

    let (status, done) = env.catalog_import(Some(ACCT), &id).await;
    assert_eq!(status, 200);
    assert_eq!(done["status"], "succeeded");
    assert_eq!(
        done["status_details"],
        json!({"succeeded": {"success_count": "2"}})
    );
    let catalog = env.catalog(ACCT).await;
    assert_eq!(catalog["imports"], json!([id]));
    assert_eq!(catalog["products"]["SKU-2"]["availability"], "backorder");

    // Unknown tokens are not upload URLs.
    let resp = env
        .http
        .put(env.url("/_sim/uploads/nope"))
        .body("id\n")
        .send()
        .await
        .expect("put");
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn processing_shows_string_counts_until_it_finishes() {
    let env = Env::with(SimConfig {
        processing_delay_ms: 3_600_000,
        ..SimConfig::default()
    })
    .await;
    let id = env.v2_import(Some(ACCT), product_upsert(), GOOD).await;
    let (_, processing) = env.catalog_import(Some(ACCT), &id).await;
    assert_eq!(processing["status"], "processing");
    assert_eq!(
        processing["status_details"],
        json!({"processing": {"success_count": "0", "error_count": "0"}})
    );
    let done = env
        .control(&format!("/_sim/imports/{id}/complete"), json!({}))
        .await;
    assert_eq!(done["import"]["status"], "succeeded");
    assert_eq!(
        done["import"]["status_details"]["succeeded"]["success_count"],
        "2"
    );
}

#[tokio::test]
async fn a_short_delay_finishes_without_being_read() {
    let env = Env::with(SimConfig {
        processing_delay_ms: 50,
        ..SimConfig::default()
    })
    .await;
    let id = env.v2_import(Some(ACCT), product_upsert(), GOOD).await;
    let (_, first) = env.catalog_import(Some(ACCT), &id).await;
    // Either still processing or, on a slow machine, already done: never anything else.
    assert!(["processing", "succeeded"].contains(&first["status"].as_str().unwrap_or("")));
    let mut status = Value::Null;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let events = env.events().await;
        if events
            .iter()
            .any(|e| e["event"]["type"] == "v2.commerce.product_catalog.imports.succeeded")
        {
            status = json!("succeeded");
            break;
        }
    }
    assert_eq!(status, "succeeded", "the timer finished the import");
}

#[tokio::test]
async fn row_errors_give_samples_and_an_error_file() {
    let env = Env::start().await;
    let id = env.v2_import(Some(ACCT), product_upsert(), MIXED).await;
    let (_, done) = env.catalog_import(Some(ACCT), &id).await;
    assert_eq!(done["status"], "succeeded_with_errors");
    let details = &done["status_details"]["succeeded_with_errors"];
    assert_eq!(details["success_count"], "2");
    assert_eq!(details["error_count"], "1");
    assert_eq!(
        details["samples"],
        json!([{"row": "3", "id": "SKU-2", "field": "price", "error_message": details["samples"][0]["error_message"]}])
    );
    let file = &details["error_file"];
    assert_eq!(file["content_type"], "text/csv");
    assert!(is_rfc3339_millis(&file["download_url"]["expires_at"]));
    let url = file["download_url"]["url"].as_str().expect("url");
    let (status, ct, bytes) = env.fetch(url).await;
    assert_eq!((status, ct.as_str()), (200, "text/csv"));
    assert_eq!(file["size"], bytes.len().to_string());
    let text = String::from_utf8(bytes).expect("utf-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "stripe_error_message,id,title,price");
    assert_eq!(lines.len(), 2);
    assert!(lines[1].ends_with(",SKU-2,Hat,cheap"));

    // Every read mints a new URL; the old one keeps working until it expires.
    let (_, again) = env.catalog_import(Some(ACCT), &id).await;
    let url2 =
        again["status_details"]["succeeded_with_errors"]["error_file"]["download_url"]["url"]
            .as_str()
            .expect("url");
    assert_ne!(url, url2);
    assert_eq!(env.fetch(url).await.0, 200);
}

#[tokio::test]
async fn expired_error_file_urls_are_refused_and_refetched() {
    let env = Env::with(SimConfig {
        error_file_url_ttl: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let id = env.v2_import(Some(ACCT), product_upsert(), MIXED).await;
    let url_of = |v: &Value| {
        v["status_details"]["succeeded_with_errors"]["error_file"]["download_url"]["url"]
            .as_str()
            .expect("url")
            .to_string()
    };
    let (_, done) = env.catalog_import(Some(ACCT), &id).await;
    let expired = url_of(&done);
    let (status, _, body) = env.fetch(&expired).await;
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("Request has expired"));

    // With a longer lifetime, a re-fetch of the import hands out a URL that works.
    env.control("/_sim/error_file_urls", json!({"ttl_ms": 60_000}))
        .await;
    let (_, again) = env.catalog_import(Some(ACCT), &id).await;
    let fresh = url_of(&again);
    assert_ne!(fresh, expired);
    assert_eq!(env.fetch(&fresh).await.0, 200);
    assert_eq!(env.fetch(&expired).await.0, 403);

    // `expired_next` hands out already-expired URLs first: a client's re-fetch path in one go.
    env.control("/_sim/error_file_urls", json!({"expired_next": 1}))
        .await;
    let (_, first) = env.catalog_import(Some(ACCT), &id).await;
    assert_eq!(env.fetch(&url_of(&first)).await.0, 403);
    let (_, second) = env.catalog_import(Some(ACCT), &id).await;
    assert_eq!(env.fetch(&url_of(&second)).await.0, 200);
    // And `expire_existing` ends every URL handed out so far.
    env.control("/_sim/error_file_urls", json!({"expire_existing": true}))
        .await;
    assert_eq!(env.fetch(&url_of(&second)).await.0, 403);
}

#[tokio::test]
async fn unreadable_files_fail() {
    let env = Env::start().await;
    for bad in [&b"sku,title\nA,B\n"[..], &b"id,title\nA,\xff\xfe\n"[..]] {
        let (_, created) = env
            .create_catalog_import(Some(ACCT), product_upsert())
            .await;
        let id = created["id"].as_str().expect("id");
        assert_eq!(env.put_upload(&created, bad, "text/csv").await, 200);
        let (_, done) = env.catalog_import(Some(ACCT), id).await;
        assert_eq!(done["status"], "failed");
        let failed = &done["status_details"]["failed"];
        assert_eq!(failed["code"], "invalid_file");
        assert_eq!(failed["type"], "cannot_proceed");
        assert!(failed["failure_message"].is_string());
    }
    // A forced failure of an import still awaiting its upload.
    let (_, created) = env
        .create_catalog_import(Some(ACCT), product_upsert())
        .await;
    let id = created["id"].as_str().expect("id");
    let failed = env
        .control(
            &format!("/_sim/imports/{id}/fail"),
            json!({"code": "internal_error", "type": "transient_failure"}),
        )
        .await;
    assert_eq!(failed["import"]["status"], "failed");
    assert_eq!(
        failed["import"]["status_details"]["failed"]["type"],
        "transient_failure"
    );
    assert_eq!(
        env.put_upload(&created, GOOD.as_bytes(), "text/csv").await,
        409
    );
}

#[tokio::test]
async fn tsv_uploads_are_detected() {
    let env = Env::start().await;
    let tsv = "id\ttitle\tprice\nA\tShoe, red\t1.00 USD\nB\tHat\tnope\n";
    for content_type in ["text/tab-separated-values", "application/octet-stream"] {
        let (_, created) = env
            .create_catalog_import(Some(ACCT), product_upsert())
            .await;
        let id = created["id"].as_str().expect("id");
        assert_eq!(
            env.put_upload(&created, tsv.as_bytes(), content_type).await,
            200
        );
        let (_, done) = env.catalog_import(Some(ACCT), id).await;
        assert_eq!(done["status"], "succeeded_with_errors", "{content_type}");
        let file = &done["status_details"]["succeeded_with_errors"]["error_file"];
        assert_eq!(file["content_type"], "text/tab-separated-values");
        let (_, _, bytes) = env
            .fetch(file["download_url"]["url"].as_str().expect("url"))
            .await;
        assert!(
            String::from_utf8_lossy(&bytes).starts_with("stripe_error_message\tid\ttitle\tprice\n")
        );
    }
    assert_eq!(
        env.catalog(ACCT).await["products"]["A"]["title"],
        "Shoe, red"
    );
}

#[tokio::test]
async fn replace_mode_drops_absent_products() {
    let env = Env::start().await;
    let csv = "id,title\nA,a\nB,b\nC,c\n";
    let first = env.v2_import(Some(ACCT), product_upsert(), csv).await;
    env.catalog_import(Some(ACCT), &first).await;
    // B's row is invalid but present: replace keeps it; C is absent: removed.
    let replace = "id,title,price\nA,a2,\nB,b2,bad\nD,d,2.00 USD\n";
    let second = env
        .v2_import(
            Some(ACCT),
            json!({"feed_type": "product", "mode": "replace"}),
            replace,
        )
        .await;
    let (_, done) = env.catalog_import(Some(ACCT), &second).await;
    assert_eq!(done["mode"], "replace");
    assert_eq!(done["status"], "succeeded_with_errors");
    let products = env.catalog(ACCT).await["products"].clone();
    let ids: Vec<&String> = products
        .as_object()
        .map(|o| o.keys().collect())
        .unwrap_or_default();
    assert_eq!(ids, ["A", "B", "D"]);
    assert_eq!(products["A"]["title"], "a2");
    assert_eq!(products["B"]["title"], "b");

    for feed in ["inventory", "pricing", "promotion"] {
        let (status, v) = env
            .create_catalog_import(Some(ACCT), json!({"feed_type": feed, "mode": "replace"}))
            .await;
        assert_eq!(status, 400, "{feed}");
        assert_eq!(v["error"]["param"], "mode");
    }
}

#[tokio::test]
async fn other_feeds() {
    let env = Env::start().await;
    let id = env.v2_import(Some(ACCT), product_upsert(), GOOD).await;
    env.catalog_import(Some(ACCT), &id).await;
    let pricing = "id,price,sale_price\nSKU-1,14.00 USD,12.00 USD\nSKU-9,1.00 USD,\n";
    let id = env
        .v2_import(
            Some(ACCT),
            json!({"feed_type": "pricing", "mode": "upsert"}),
            pricing,
        )
        .await;
    let (_, done) = env.catalog_import(Some(ACCT), &id).await;
    assert_eq!(
        done["status"], "succeeded_with_errors",
        "SKU-9 is not a product"
    );
    let promotions = "promotion_id,title\nSPRING,Spring sale\n";
    let id = env
        .v2_import(
            Some(ACCT),
            json!({"feed_type": "promotion", "mode": "upsert"}),
            promotions,
        )
        .await;
    let (_, done) = env.catalog_import(Some(ACCT), &id).await;
    assert_eq!(done["status"], "succeeded");
    let catalog = env.catalog(ACCT).await;
    assert_eq!(catalog["products"]["SKU-1"]["price"], "14.00 USD");
    assert_eq!(catalog["products"]["SKU-1"]["title"], "Trail shoe");
    assert_eq!(catalog["promotions"]["SPRING"]["title"], "Spring sale");
}

/// (id, field) of each sample of a finished import with row errors.
fn refused(done: &Value) -> Vec<(String, String)> {
    let details = &done["status_details"]["succeeded_with_errors"];
    details["samples"]
        .as_array()
        .map(|samples| {
            samples
                .iter()
                .map(|s| {
                    let text = |k: &str| s[k].as_str().unwrap_or_default().to_string();
                    (text("id"), text("field"))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn shipping_areas_follow_the_feed_spec() {
    // FEED's postal forms (US only): code, range, prefix wildcard, wildcard range.
    let env = Env::start().await;
    let csv = "id,title,price,shipping\n\
               OK-1,a,1.00 USD,US:94*-95*:Standard Shipping:2-5:0.00 USD\n\
               OK-2,b,1.00 USD,\"US:94012:Standard:3-5:0.00 USD,US:73114-74547:Expedited:1-2:9.99 USD,US:94*:Expedited:1-2:9.99 USD\"\n\
               OK-3,c,1.00 USD,\"US:ALL:Standard::5.00 USD,DE:BY:Standard:2-4:4.90 EUR\"\n\
               BAD-1,d,1.00 USD,US:94*-9x*:Ground::1.00 USD\n\
               BAD-2,e,1.00 USD,US:94*-95123:Ground::1.00 USD\n\
               BAD-3,f,1.00 USD,US:95*-94*:Ground::1.00 USD\n\
               BAD-4,g,1.00 USD,DE:94*-95*:Standard::4.90 EUR\n\
               BAD-5,h,1.00 USD,US:CA:Standard\n";
    let id = env.v2_import(Some(ACCT), product_upsert(), csv).await;
    let (_, done) = env.catalog_import(Some(ACCT), &id).await;
    assert_eq!(done["status"], "succeeded_with_errors", "{done}");
    let details = &done["status_details"]["succeeded_with_errors"];
    assert_eq!(details["success_count"], "3");
    assert_eq!(details["error_count"], "5");
    let expected: Vec<(String, String)> = (1..=5)
        .map(|n| (format!("BAD-{n}"), "shipping".to_string()))
        .collect();
    assert_eq!(refused(&done), expected);
    let products = &env.catalog(ACCT).await["products"];
    assert_eq!(
        products["OK-1"]["shipping"],
        "US:94*-95*:Standard Shipping:2-5:0.00 USD"
    );
}

#[tokio::test]
async fn promotion_rows_follow_the_feed_spec() {
    let env = Env::start().await;
    let csv = "promotion_id,title,benefit_type,percent_off,target_selection,target_ids,target_item_group_ids,excluded_ids,excluded_item_group_ids\n\
               ZERO,a,percent_off,0,all_products,,,,\n\
               ALL-BUT,b,percent_off,100,specific_products,,,,POLO456\n\
               SOME,c,free_shipping,,specific_products,,,SKU222,\n\
               OVER,d,percent_off,101,all_products,,,,\n\
               FRACTION,e,percent_off,12.5,all_products,,,,\n\
               MISSING,f,percent_off,,all_products,,,,\n\
               NO-LIST,g,amount_off,,specific_products,,,,\n";
    let id = env
        .v2_import(
            Some(ACCT),
            json!({"feed_type": "promotion", "mode": "upsert"}),
            csv,
        )
        .await;
    let (_, done) = env.catalog_import(Some(ACCT), &id).await;
    assert_eq!(done["status"], "succeeded_with_errors", "{done}");
    let pair = |id: &str, field: &str| (id.to_string(), field.to_string());
    assert_eq!(
        refused(&done),
        [
            pair("OVER", "percent_off"),
            pair("FRACTION", "percent_off"),
            pair("MISSING", "percent_off"),
            pair("NO-LIST", "target_selection"),
        ]
    );
    let promotions = &env.catalog(ACCT).await["promotions"];
    for accepted in ["ZERO", "ALL-BUT", "SOME"] {
        assert!(promotions[accepted].is_object(), "{accepted}: {promotions}");
    }
}

#[tokio::test]
async fn parameters_and_error_shapes() {
    let env = Env::start().await;
    let cases = [
        (json!({"mode": "upsert"}), "feed_type"),
        (
            json!({"feed_type": "reviews", "mode": "upsert"}),
            "feed_type",
        ),
        (json!({"feed_type": "product"}), "mode"),
        (json!({"feed_type": "product", "mode": "merge"}), "mode"),
        (
            json!({"feed_type": "product", "mode": "upsert", "colour": "red"}),
            "colour",
        ),
    ];
    for (params, param) in cases {
        let (status, v) = env.create_catalog_import(Some(ACCT), params).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], param);
        assert!(v["error"]["message"].is_string());
    }
    let resp = env
        .v2(
            reqwest::Method::POST,
            "/v2/commerce/product_catalog/imports",
            Some(ACCT),
        )
        .header("Content-Type", "application/json")
        .body("[1,2]")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
    let (status, v) = env.catalog_import(Some(ACCT), "pcimprt_missing").await;
    assert_eq!(status, 404);
    assert_eq!(v["error"]["code"], "resource_missing");
}

#[tokio::test]
async fn imports_and_uploads_belong_to_their_account() {
    let env = Env::start().await;
    let id = env.v2_import(Some(ACCT), product_upsert(), GOOD).await;
    for context in [Some(OTHER), None] {
        assert_eq!(env.catalog_import(context, &id).await.0, 404);
    }
    assert_eq!(env.catalog(OTHER).await["products"], json!({}));
    assert_eq!(env.catalog("platform").await["imports"], json!([]));
    // Stripe-Account works as well as Stripe-Context.
    let (status, _, v) = body(
        env.get(
            &format!("/v2/commerce/product_catalog/imports/{id}"),
            Some(ACCT),
        )
        .header("Stripe-Version", V2_VERSION)
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["id"], id.as_str());
}

#[tokio::test]
async fn creation_is_idempotent() {
    let env = Env::start().await;
    let send = |params: Value| {
        env.v2(
            reqwest::Method::POST,
            "/v2/commerce/product_catalog/imports",
            Some(ACCT),
        )
        .header("Idempotency-Key", "s3://bucket/key#v1")
        .json(&params)
        .send()
    };
    let first = send(product_upsert()).await.expect("send");
    assert_eq!(first.status().as_u16(), 200);
    let first: Value = first.json().await.expect("json");
    let second = send(product_upsert()).await.expect("send");
    assert_eq!(
        second
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let second: Value = second.json().await.expect("json");
    assert_eq!(first, second);
    let (status, _, v) = body(
        send(json!({"feed_type": "inventory", "mode": "upsert"}))
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["type"], "idempotency_error");
    assert_eq!(
        env.catalog(ACCT).await["imports"],
        json!([first["id"].clone()])
    );
}

#[tokio::test]
async fn the_update_interval_is_enforced() {
    let env = Env::with(SimConfig {
        min_import_interval_ms: 60_000,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(
        env.create_catalog_import(Some(ACCT), product_upsert())
            .await
            .0,
        200
    );
    let (status, v) = env
        .create_catalog_import(Some(ACCT), product_upsert())
        .await;
    assert_eq!(status, 429);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["code"], "rate_limit");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("1 minutes")
    );
    let inventory = json!({"feed_type": "inventory", "mode": "upsert"});
    assert_eq!(
        env.create_catalog_import(Some(ACCT), inventory).await.0,
        200
    );
    assert_eq!(
        env.create_catalog_import(Some(OTHER), product_upsert())
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn oversized_uploads_are_refused() {
    let env = Env::with(SimConfig {
        max_upload_bytes: 16,
        ..SimConfig::default()
    })
    .await;
    let (_, created) = env
        .create_catalog_import(Some(ACCT), product_upsert())
        .await;
    assert_eq!(
        env.put_upload(&created, GOOD.as_bytes(), "text/csv").await,
        400
    );
    let id = created["id"].as_str().expect("id");
    let (_, v) = env.catalog_import(Some(ACCT), id).await;
    assert_eq!(v["status"], "awaiting_upload");
    assert_eq!(env.put_upload(&created, b"id\nA\n", "text/csv").await, 200);
}

#[tokio::test]
async fn expired_upload_urls_are_refused() {
    let env = Env::with(SimConfig {
        upload_url_ttl: Duration::ZERO,
        ..SimConfig::default()
    })
    .await;
    let (_, created) = env
        .create_catalog_import(Some(ACCT), product_upsert())
        .await;
    assert_eq!(
        env.put_upload(&created, GOOD.as_bytes(), "text/csv").await,
        403
    );
}

fn thin_types(hits: &[Hit]) -> Vec<String> {
    let mut types: Vec<String> = hits
        .iter()
        .map(|h| h.json()["type"].as_str().unwrap_or("").to_string())
        .collect();
    types.sort();
    types
}

#[tokio::test]
async fn thin_events_are_signed_delivered_and_retrievable() {
    let thin = Receiver::start(&[]).await;
    let snapshots = Receiver::start(&[]).await;
    let env = Env::with(SimConfig {
        thin_event_url: Some(thin.url.clone()),
        webhook_url: Some(snapshots.url.clone()),
        ..SimConfig::default()
    })
    .await;
    let id = env.v2_import(Some(ACCT), product_upsert(), MIXED).await;
    let hits = thin.wait_for(2).await;
    assert_eq!(
        thin_types(&hits),
        [
            "v2.commerce.product_catalog.imports.processing",
            "v2.commerce.product_catalog.imports.succeeded_with_errors"
        ]
    );
    for hit in &hits {
        assert!(verify(hit, "whsec_test_thin_sim"), "thin secret signs it");
        assert!(!verify(hit, "whsec_test_sim"), "not the webhook secret");
        let event = hit.json();
        assert!(event["id"].as_str().is_some_and(|i| i.starts_with("evt_")));
        assert_eq!(event["object"], "v2.core.event");
        assert_eq!(event["livemode"], false);
        assert_eq!(event["context"], ACCT);
        assert_eq!(event["reason"], Value::Null);
        assert!(is_rfc3339_millis(&event["created"]));
        assert_eq!(
            event["related_object"],
            json!({
                "id": id,
                "type": "v2.commerce.product_catalog_import",
                "url": format!("/v2/commerce/product_catalog/imports/{id}"),
            })
        );
        assert!(event.get("data").is_none(), "thin events carry no data");

        let event_id = event["id"].as_str().expect("id");
        let path = format!("/v2/core/events/{event_id}");
        let resp = env
            .v2(reqwest::Method::GET, &path, Some(ACCT))
            .send()
            .await
            .expect("send");
        let (status, _, full) = body(resp).await;
        assert_eq!(status, 200);
        assert_eq!(full, event);
        let resp = env
            .v2(reqwest::Method::GET, &path, Some(OTHER))
            .send()
            .await
            .expect("send");
        assert_eq!(
            resp.status().as_u16(),
            404,
            "events belong to their context"
        );
        // The related object is reachable at its url.
        let (status, _) = env.catalog_import(Some(ACCT), &id).await;
        assert_eq!(status, 200);
    }
    // The receiver may see a delivery just before the emulator records its outcome.
    let mut recorded = env.events().await;
    for _ in 0..100 {
        if recorded
            .iter()
            .all(|r| r["deliveries"] == json!([{"status": 200, "attempt": 1}]))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        recorded = env.events().await;
    }
    assert_eq!(recorded.len(), 2);
    assert!(recorded.iter().all(|r| r["thin"] == true));
    assert!(
        recorded
            .iter()
            .all(|r| r["deliveries"] == json!([{"status": 200, "attempt": 1}])),
        "{recorded:?}"
    );
    let filtered = env
        .http
        .get(env.url(&format!("/_sim/events?account={OTHER}")))
        .send()
        .await
        .expect("send")
        .json::<Vec<Value>>()
        .await
        .expect("json");
    assert!(filtered.is_empty());
    assert!(
        snapshots.hits().is_empty(),
        "thin events skip the webhook endpoint"
    );

    // Snapshot events are not v2 events.
    let purchase = env.purchase(json!({"wait_for_delivery": true})).await;
    let snapshot = purchase["events"][0].as_str().expect("event");
    let resp = env
        .v2(
            reqwest::Method::GET,
            &format!("/v2/core/events/{snapshot}"),
            Some(ACCT),
        )
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 404);
    assert_eq!(
        thin.hits().len(),
        2,
        "and they do not go to the thin endpoint"
    );
}

#[tokio::test]
async fn the_thin_endpoint_is_settable_and_failures_emit_failed() {
    let env = Env::with(SimConfig {
        processing_delay_ms: 3_600_000,
        ..SimConfig::default()
    })
    .await;
    let thin = Receiver::start(&[]).await;
    env.control(
        "/_sim/thin_event_endpoint",
        json!({"url": thin.url, "secret": "whsec_rotated_thin"}),
    )
    .await;
    let id = env.v2_import(Some(ACCT), product_upsert(), GOOD).await;
    env.control(
        &format!("/_sim/imports/{id}/fail"),
        json!({"wait_for_delivery": true}),
    )
    .await;
    let hits = thin.wait_for(2).await;
    assert_eq!(
        thin_types(&hits),
        [
            "v2.commerce.product_catalog.imports.failed",
            "v2.commerce.product_catalog.imports.processing"
        ]
    );
    assert!(hits.iter().all(|h| verify(h, "whsec_rotated_thin")));
    // Resending works for thin events too.
    let event_id = hits[0].json()["id"].as_str().expect("id").to_string();
    env.control(
        &format!("/_sim/events/{event_id}/resend"),
        json!({"wait_for_delivery": true}),
    )
    .await;
    assert_eq!(thin.hits().len(), 3);

    let other = env
        .v2_import(
            Some(ACCT),
            json!({"feed_type": "inventory", "mode": "upsert"}),
            "id,availability\nSKU-1,in_stock\n",
        )
        .await;
    let done = env
        .control(
            &format!("/_sim/imports/{other}/complete"),
            json!({"wait_for_delivery": true}),
        )
        .await;
    // SKU-1 never made it into the catalog (the product import failed).
    assert_eq!(done["import"]["status"], "succeeded_with_errors");
    let hits = thin.wait_for(5).await;
    assert!(
        hits.iter().any(
            |h| h.json()["type"] == "v2.commerce.product_catalog.imports.succeeded_with_errors"
        )
    );
}
