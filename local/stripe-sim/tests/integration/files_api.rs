//! `POST /v1/files` (multipart), `GET /v1/files/{id}`, `GET /v1/files/{id}/contents`.

use crate::common::{ACCT, Env, OTHER, PURPOSE, Upload, body};
use serde_json::Value;
use stripe_sim::SimConfig;

const CSV: &str = "id,title,price\nSKU-1,\"Shoe, trail\",15.00 USD\n";
const TSV: &str = "id\ttitle\tprice\nSKU-1\tShoe, trail\t15.00 USD\n";

async fn contents(env: &Env, account: Option<&str>, id: &str) -> (u16, String, Vec<u8>) {
    let resp = env
        .get(&format!("/v1/files/{id}/contents"), account)
        .send()
        .await
        .expect("contents");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (status, ct, resp.bytes().await.expect("bytes").to_vec())
}

#[tokio::test]
async fn csv_and_tsv_upload_and_round_trip() {
    let env = Env::start().await;
    let (status, file) = env.upload(Some(ACCT), &Upload::csv(CSV)).await;
    assert_eq!(status, 200, "{file}");
    let id = file["id"].as_str().expect("id");
    assert!(id.starts_with("file_"));
    assert_eq!(file["object"], "file");
    assert_eq!(file["filename"], "catalog.csv");
    assert_eq!(file["purpose"], PURPOSE);
    assert_eq!(file["size"], CSV.len());
    assert_eq!(file["type"], "csv");
    assert_eq!(file["url"], Value::Null);
    assert!(file["created"].is_i64());
    assert_eq!(file["links"]["object"], "list");
    assert!(
        file.as_object()
            .is_some_and(|o| o.contains_key("expires_at"))
    );

    let (status, _, retrieved) = body(
        env.get(&format!("/v1/files/{id}"), Some(ACCT))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(retrieved, file);
    let (status, ct, bytes) = contents(&env, Some(ACCT), id).await;
    assert_eq!((status, ct.as_str()), (200, "text/csv"));
    assert_eq!(bytes, CSV.as_bytes());

    let (status, file) = env.upload(Some(ACCT), &Upload::tsv(TSV)).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["type"], "tsv");
    let id = file["id"].as_str().expect("id");
    let (status, ct, bytes) = contents(&env, Some(ACCT), id).await;
    assert_eq!((status, ct.as_str()), (200, "text/tab-separated-values"));
    assert_eq!(bytes, TSV.as_bytes());

    // Content-type parameters are kept and answered back as uploaded.
    let upload = Upload {
        content_type: Some("text/csv; charset=utf-8"),
        ..Upload::csv(CSV)
    };
    let id = env.file(None, &upload).await;
    let (_, ct, _) = contents(&env, None, &id).await;
    assert_eq!(ct, "text/csv; charset=utf-8");
}

#[tokio::test]
async fn purposes_are_checked_and_configurable() {
    let env = Env::start().await;
    let wrong = Upload {
        purpose: Some("dispute_evidence"),
        ..Upload::csv(CSV)
    };
    let (status, v) = env.upload(Some(ACCT), &wrong).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["param"], "purpose");
    let missing = Upload {
        purpose: None,
        ..Upload::csv(CSV)
    };
    let (status, v) = env.upload(Some(ACCT), &missing).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "parameter_missing");
    assert_eq!(v["error"]["param"], "purpose");

    // The older beta's purpose, when configured, is the one accepted.
    let env = Env::with(SimConfig {
        file_purposes: vec!["agentic_commerce_import".into()],
        ..SimConfig::default()
    })
    .await;
    let old = Upload {
        purpose: Some("agentic_commerce_import"),
        ..Upload::csv(CSV)
    };
    assert_eq!(env.upload(Some(ACCT), &old).await.0, 200);
    assert_eq!(env.upload(Some(ACCT), &Upload::csv(CSV)).await.0, 400);
}

#[tokio::test]
async fn too_large_files_are_refused() {
    let env = Env::with(SimConfig {
        max_file_bytes: 100,
        ..SimConfig::default()
    })
    .await;
    let exact = Upload {
        bytes: vec![b'a'; 100],
        ..Upload::csv("")
    };
    assert_eq!(env.upload(Some(ACCT), &exact).await.0, 200);
    for size in [101, 200_000] {
        let big = Upload {
            bytes: vec![b'a'; size],
            ..Upload::csv("")
        };
        let (status, v) = env.upload(Some(ACCT), &big).await;
        assert_eq!(status, 400, "{size}: {v}");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["code"], "file_too_large");
        assert_eq!(v["error"]["param"], "file");
    }
}

#[tokio::test]
async fn missing_or_mistyped_files_are_refused() {
    let env = Env::start().await;
    let form = reqwest::multipart::Form::new().text("purpose", PURPOSE);
    let (status, _, v) = body(
        env.post("/v1/files", Some(ACCT))
            .multipart(form)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["param"], "file");
    assert_eq!(v["error"]["code"], "parameter_missing");

    for content_type in [
        Some("application/json"),
        Some("application/vnd.ms-excel"),
        None,
    ] {
        let upload = Upload {
            content_type,
            ..Upload::csv(CSV)
        };
        let (status, v) = env.upload(Some(ACCT), &upload).await;
        assert_eq!(status, 400, "{content_type:?}");
        assert_eq!(v["error"]["param"], "file");
    }
    let empty = Upload {
        bytes: Vec::new(),
        ..Upload::csv("")
    };
    assert_eq!(env.upload(Some(ACCT), &empty).await.0, 400);

    // A form-encoded body is not an upload.
    let (status, _, v) = body(
        env.post("/v1/files", Some(ACCT))
            .form(&[("purpose", PURPOSE)])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("multipart/form-data")
    );
}

#[tokio::test]
async fn files_belong_to_their_account() {
    let env = Env::start().await;
    let id = env.file(Some(ACCT), &Upload::csv(CSV)).await;
    for account in [Some(OTHER), None] {
        let (status, _, v) = body(
            env.get(&format!("/v1/files/{id}"), account)
                .send()
                .await
                .expect("get"),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(v["error"]["code"], "resource_missing");
        assert_eq!(contents(&env, account, &id).await.0, 404);
    }
    assert_eq!(contents(&env, Some(ACCT), &id).await.0, 200);
}

#[tokio::test]
async fn uploads_replay_by_digest() {
    let env = Env::start().await;
    let upload = Upload::csv(CSV);
    let (s1, first) = env.upload_with_key(Some(ACCT), &upload, Some("up-1")).await;
    let (s2, second) = env.upload_with_key(Some(ACCT), &upload, Some("up-1")).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first["id"], second["id"]);
    let changed = Upload::csv("id\nSKU-2\n");
    let (status, v) = env
        .upload_with_key(Some(ACCT), &changed, Some("up-1"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["type"], "idempotency_error");
    // The same key under another account is another key.
    let (status, other) = env
        .upload_with_key(Some(OTHER), &upload, Some("up-1"))
        .await;
    assert_eq!(status, 200);
    assert_ne!(other["id"], first["id"]);
}

#[tokio::test]
async fn files_api_rate_limit() {
    let env = Env::with(SimConfig {
        files_rate_per_second: Some(2),
        ..SimConfig::default()
    })
    .await;
    let mut statuses = Vec::new();
    let mut last = Value::Null;
    for _ in 0..3 {
        let (status, v) = env.upload(Some(ACCT), &Upload::csv(CSV)).await;
        statuses.push(status);
        last = v;
    }
    assert_eq!(statuses, [200, 200, 429]);
    assert_eq!(last["error"]["type"], "rate_limit_error");
    // Other endpoints are not counted.
    let (status, _, _) = body(
        env.get("/v1/charges/ch_1", Some(ACCT))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 404);
}
