//! `POST /v1/files` (multipart), `GET /v1/files/{id}`, `GET /v1/files/{id}/contents`.

use crate::common::{ACCT, Env, OTHER, PURPOSE, Upload, body};
use serde_json::Value;
use stripe_sim::{RateLimits, SimConfig};

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

    // Neither the label nor the name nor the content says CSV or TSV.
    for (content_type, filename, bytes) in [
        (
            Some("application/json"),
            "catalog.json",
            &b"{\"id\": 1}"[..],
        ),
        (
            Some("application/vnd.ms-excel"),
            "catalog.xls",
            CSV.as_bytes(),
        ),
        (None, "catalog.pdf", CSV.as_bytes()),
        (
            Some("application/octet-stream"),
            "blob",
            &b"\x89PNG\r\n\x1a\n\0\0"[..],
        ),
    ] {
        let upload = Upload {
            content_type,
            filename,
            bytes: bytes.to_vec(),
            ..Upload::csv(CSV)
        };
        let (status, v) = env.upload(Some(ACCT), &upload).await;
        assert_eq!(status, 400, "{content_type:?} {filename}");
        assert_eq!(v["error"]["param"], "file");
    }
    // A `.csv` is CSV whatever its label (browsers send application/vnd.ms-excel).
    for content_type in [Some("application/vnd.ms-excel"), None] {
        let upload = Upload {
            content_type,
            ..Upload::csv(CSV)
        };
        let (status, v) = env.upload(Some(ACCT), &upload).await;
        assert_eq!(status, 200, "{content_type:?}: {v}");
        assert_eq!(v["type"], "csv");
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
        rate_limits: Some(RateLimits {
            files_writes_per_second: 2,
            ..RateLimits::live()
        }),
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
    assert_eq!(last["error"]["type"], "invalid_request_error");
    assert_eq!(last["error"]["code"], "rate_limit");
    let message = last["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("Files API limit of 2 write requests per second"),
        "{message}"
    );
    // Other endpoints are not counted against the Files limits.
    let (status, _, _) = body(
        env.get("/v1/charges/ch_1", Some(ACCT))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 404);
}

/// A hand-made `multipart/form-data` request, for the shapes reqwest never sends.
async fn raw_upload(env: &Env, content_type: &str, bytes: Vec<u8>) -> (u16, Value) {
    let (status, _, value) = body(
        env.post("/v1/files", Some(ACCT))
            .header("Content-Type", content_type)
            .body(bytes)
            .send()
            .await
            .expect("send"),
    )
    .await;
    (status, value)
}

fn form(boundary: &str, parts: &[(&str, &str)]) -> Vec<u8> {
    let mut out = String::new();
    for (headers, data) in parts {
        out.push_str(&format!("--{boundary}\r\n{headers}\r\n\r\n{data}\r\n"));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out.into_bytes()
}

const PURPOSE_PART: &str = "Content-Disposition: form-data; name=\"purpose\"";

#[tokio::test]
async fn uploads_over_axums_default_limit_are_accepted() {
    // axum's extractors stop at 2 MB unless told otherwise; the emulator's limit is 200 MB.
    let env = Env::start().await;
    let mut text = String::from("id,title\n");
    while text.len() < 3 << 20 {
        text.push_str("SKU-1234567890,A product title that takes some room\n");
    }
    let (status, file) = env.upload(Some(ACCT), &Upload::csv(&text)).await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["size"], text.len());
    let id = file["id"].as_str().expect("id");
    let (status, _, bytes) = contents(&env, Some(ACCT), id).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, text.as_bytes());
}

#[tokio::test]
async fn hand_made_forms_are_read_like_any_client_s() {
    let env = Env::start().await;
    // A preamble, a quoted boundary with a `;` in it, an escaped quote in the filename,
    // and file data that contains the boundary's prefix and ends with a line break.
    let mut preambled = b"preamble\r\n".to_vec();
    preambled.extend(form(
        "a;b",
        &[
            (PURPOSE_PART, PURPOSE),
            (
                "Content-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".csv\"\r\nContent-Type: text/csv",
                "id,title\r\n1,--a;\r\n",
            ),
        ],
    ));
    let (status, file) = raw_upload(
        &env,
        "Multipart/Form-Data; charset=utf-8; boundary=\"a;b\"",
        preambled,
    )
    .await;
    assert_eq!(status, 200, "{file}");
    assert_eq!(file["filename"], "a \"b\".csv");
    assert_eq!(file["size"], "id,title\r\n1,--a;\r\n".len());
    let (_, ct, bytes) = contents(&env, Some(ACCT), file["id"].as_str().expect("id")).await;
    assert_eq!(ct, "text/csv");
    assert_eq!(bytes, b"id,title\r\n1,--a;\r\n");

    // stripe-python's shape: every file part is application/octet-stream, named after the
    // file object (a path). Stripe takes the type from the file, so a `.csv` is CSV, and
    // its contents come back as text/csv; a nameless TSV is told by its first line.
    for (filename, data, kind, served) in [
        ("/tmp/feeds/catalog.csv", CSV, "csv", "text/csv"),
        (
            "blob",
            "id\ttitle\nSKU-1\tShoe\n",
            "tsv",
            "text/tab-separated-values",
        ),
    ] {
        let octet = form(
            "XX",
            &[
                (PURPOSE_PART, PURPOSE),
                (
                    &format!(
                        "Content-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream"
                    ),
                    data,
                ),
            ],
        );
        let (status, v) = raw_upload(&env, "multipart/form-data; boundary=XX", octet).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["type"], kind);
        assert_eq!(v["filename"], filename);
        let (_, ct, bytes) = contents(&env, Some(ACCT), v["id"].as_str().expect("id")).await;
        assert_eq!(ct, served);
        assert_eq!(bytes, data.as_bytes());
    }
}

#[tokio::test]
async fn malformed_forms_get_stripe_shaped_errors() {
    let env = Env::start().await;
    let file = "Content-Disposition: form-data; name=\"file\"; filename=\"c.csv\"\r\nContent-Type: text/csv";
    let check = |v: &Value, what: &str| {
        assert_eq!(v["error"]["type"], "invalid_request_error", "{what}: {v}");
        let message = v["error"]["message"].as_str().unwrap_or("");
        assert!(!message.is_empty(), "{what}: {v}");
    };

    // No boundary, or not multipart at all: refused before the body is read.
    for content_type in [
        "multipart/form-data",
        "application/json",
        "text/csv; boundary=XX",
    ] {
        let (status, v) = raw_upload(&env, content_type, form("XX", &[(file, CSV)])).await;
        assert_eq!(status, 400, "{content_type}");
        check(&v, content_type);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("multipart/form-data"),
            "{v}"
        );
    }

    let unterminated =
        b"--XX\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nvalue".to_vec();
    let too_many: Vec<(&str, &str)> = (0..101).map(|_| (PURPOSE_PART, PURPOSE)).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no closing boundary", unterminated),
        ("no boundary in the body", b"nothing here".to_vec()),
        (
            "a part without a name",
            form("XX", &[("Content-Type: text/csv", CSV)]),
        ),
        (
            "a part that is not form-data",
            form(
                "XX",
                &[("Content-Disposition: attachment; name=\"file\"", CSV)],
            ),
        ),
        ("more than 100 parts", form("XX", &too_many)),
        ("a part header that is not UTF-8", {
            let mut bytes = b"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"\xff.csv\"\r\nContent-Type: text/csv\r\n\r\n".to_vec();
            bytes.extend(CSV.as_bytes());
            bytes.extend(b"\r\n--XX--\r\n");
            bytes
        }),
    ];
    for (what, bytes) in cases {
        let (status, v) = raw_upload(&env, "multipart/form-data; boundary=XX", bytes).await;
        assert_eq!(status, 400, "{what}: {v}");
        check(&v, what);
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap_or("")
                .starts_with("Invalid multipart/form-data body: "),
            "{what}: {v}"
        );
    }

    // Two files, or a text field that is not UTF-8: a parameter error.
    let (status, v) = raw_upload(
        &env,
        "multipart/form-data; boundary=XX",
        form("XX", &[(PURPOSE_PART, PURPOSE), (file, CSV), (file, CSV)]),
    )
    .await;
    assert_eq!(
        (status, v["error"]["param"].as_str()),
        (400, Some("file")),
        "{v}"
    );
    let mut latin1 =
        b"--XX\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n\xe9\r\n".to_vec();
    latin1.extend(form("XX", &[(file, CSV)]));
    let (status, v) = raw_upload(&env, "multipart/form-data; boundary=XX", latin1).await;
    assert_eq!(
        (status, v["error"]["param"].as_str()),
        (400, Some("purpose")),
        "{v}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_drained_and_refused() {
    let env = Env::with(SimConfig {
        max_file_bytes: 100,
        ..SimConfig::default()
    })
    .await;
    // Over the limit by the declared length alone, and by the bytes that arrive when no
    // length is declared (a streamed body): both get file_too_large, however malformed.
    let big = vec![b'x'; 300_000];
    let (status, v) = raw_upload(&env, "multipart/form-data; boundary=XX", big.clone()).await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], "file_too_large");
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        big.chunks(10_000).map(|c| Ok(c.to_vec())).collect();
    let streamed = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    let (status, _, v) = body(
        env.post("/v1/files", Some(ACCT))
            .header("Content-Type", "multipart/form-data; boundary=XX")
            .body(streamed)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], "file_too_large");
    assert_eq!(v["error"]["param"], "file");
}
