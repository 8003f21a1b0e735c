//! Stripe's rate limits (`--rate-limits`, `/_sim/rate_limits`) and `/_sim/stats`.
//!
//! Each burst is sent back to back; the assertions count on a burst taking well under a
//! second (loopback, a few hundred requests at most), and each checks that it did. Window
//! expiry is tested without waiting, with injected instants (`state::traffic`'s unit tests).

use crate::common::{ACCT, BETA, Env, OTHER, Upload, body};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use stripe_sim::{RateLimits, SimConfig};

const CSV: &str = "id,title,price\nSKU-1,Shoe,15.00 USD\n";

async fn env_with(limits: Option<RateLimits>) -> Env {
    Env::with(SimConfig {
        rate_limits: limits,
        ..SimConfig::default()
    })
    .await
}

async fn get_json(env: &Env, path: &str) -> Value {
    let resp = env.http.get(env.url(path)).send().await.expect("get");
    assert_eq!(resp.status().as_u16(), 200, "{path}");
    resp.json().await.expect("json")
}

/// Sends the requests one after another: their statuses and the 429 bodies.
async fn burst(requests: Vec<reqwest::RequestBuilder>) -> (Vec<u16>, Vec<Value>) {
    let started = Instant::now();
    let mut statuses = Vec::new();
    let mut refusals = Vec::new();
    for request in requests {
        let (status, _, value) = body(request.send().await.expect("send")).await;
        statuses.push(status);
        if status == 429 {
            refusals.push(value);
        }
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(900),
        "the burst took {elapsed:?}: too slow for a one-second window"
    );
    (statuses, refusals)
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

fn message(refusal: &Value) -> &str {
    refusal["error"]["message"].as_str().unwrap_or("")
}

#[tokio::test]
async fn live_limits_refuse_exactly_what_an_endpoint_gets_over_25_a_second() {
    let env = env_with(Some(RateLimits::live())).await;
    // 101 GETs of one endpoint, every one for another id: one endpoint.
    let requests = (0..101)
        .map(|i| {
            env.get(
                &format!("/v1/data_management/import_sets/impset_{i}"),
                Some(ACCT),
            )
            .header("Stripe-Version", BETA)
        })
        .collect();
    let (statuses, refusals) = burst(requests).await;
    assert_eq!(count(&statuses, 404), 25, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 76);
    assert!(statuses[..25].iter().all(|s| *s == 404));
    for refusal in &refusals {
        assert_eq!(refusal["error"]["type"], "invalid_request_error");
        assert_eq!(refusal["error"]["code"], "rate_limit");
        assert!(
            message(refusal).contains(
                "limit of 25 requests per second for the endpoint GET /v1/data_management/import_sets/{id}"
            ),
            "{refusal}"
        );
    }
    // Another endpoint has its own 25 (and the global 100 is far).
    let (status, _, _) = body(
        env.get("/v1/charges/ch_missing", Some(ACCT))
            .send()
            .await
            .expect("get"),
    )
    .await;
    assert_eq!(status, 404);

    let stats = get_json(&env, "/_sim/stats").await;
    assert_eq!(stats["requests"], 26);
    assert_eq!(stats["rate_limited"], 76);
    assert_eq!(stats["peak_per_second"], 26);
    assert_eq!(
        stats["by_endpoint"],
        json!({"GET /v1/data_management/import_sets/{id}": 25, "GET /v1/charges/{id}": 1})
    );
}

#[tokio::test]
async fn the_global_limit_counts_every_endpoint_and_every_account_of_the_platform() {
    let env = env_with(Some(RateLimits::live())).await;
    let paths = [
        "/v1/charges/ch_x",
        "/v1/refunds/re_x",
        "/v1/disputes/dp_x",
        "/v1/payment_intents/pi_x",
        "/v1/payment_intents",
        "/v1/checkout/sessions/cs_x",
        "/v1/checkout/sessions",
    ];
    // 105 requests, 15 per endpoint, as the platform and two connected accounts.
    let accounts = [None, Some(ACCT), Some(OTHER)];
    let requests = (0..105)
        .map(|i| env.get(paths[i % paths.len()], accounts[i % 3]))
        .collect();
    let (statuses, refusals) = burst(requests).await;
    assert_eq!(count(&statuses, 429), 5, "{statuses:?}");
    assert!(statuses[..100].iter().all(|s| *s != 429));
    for refusal in &refusals {
        assert!(
            message(refusal).contains("the global limit of 100 requests per second"),
            "{refusal}"
        );
    }

    let env = env_with(Some(RateLimits::sandbox())).await;
    let requests = (0..30)
        .map(|i| env.get(paths[i % 3], accounts[i % 3]))
        .collect();
    let (statuses, refusals) = burst(requests).await;
    assert_eq!(count(&statuses, 429), 5, "{statuses:?}");
    assert!(message(&refusals[0]).contains("the global limit of 25 requests per second"));
}

#[tokio::test]
async fn files_writes_stop_at_20_a_second_and_reads_have_their_own_20() {
    let env = env_with(Some(RateLimits::live())).await;
    let upload = Upload::csv(CSV);
    let requests = (0..22)
        .map(|_| env.post("/v1/files", Some(ACCT)).multipart(upload.form()))
        .collect();
    let (statuses, refusals) = burst(requests).await;
    assert_eq!(count(&statuses, 200), 20, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 2);
    assert!(message(&refusals[0]).contains("the Files API limit of 20 write requests per second"));
    // Reads of the Files API are counted apart from its writes.
    let requests = (0..21)
        .map(|i| env.get(&format!("/v1/files/file_{i}"), Some(ACCT)))
        .collect();
    let (statuses, refusals) = burst(requests).await;
    assert_eq!(count(&statuses, 404), 20, "{statuses:?}");
    assert_eq!(count(&statuses, 429), 1);
    assert!(message(&refusals[0]).contains("the Files API limit of 20 read requests per second"));
    let stats = get_json(&env, "/_sim/stats").await;
    assert_eq!(
        (stats["files_writes"].clone(), stats["files_reads"].clone()),
        (json!(20), json!(20))
    );
    assert_eq!(stats["peak_files_per_second"], 40);
    assert_eq!(stats["rate_limited"], 3);
}

#[tokio::test]
async fn a_refused_request_is_not_saved_for_its_idempotency_key() {
    let env = env_with(Some(RateLimits {
        files_writes_per_second: 1,
        ..RateLimits::live()
    }))
    .await;
    let upload = Upload::csv(CSV);
    let (status, _) = env.upload_with_key(Some(ACCT), &upload, Some("a")).await;
    assert_eq!(status, 200);
    let (status, refused) = env.upload_with_key(Some(ACCT), &upload, Some("b")).await;
    assert_eq!(status, 429, "{refused}");
    env.control("/_sim/rate_limits", json!({"mode": "off"}))
        .await;
    let resp = env
        .post("/v1/files", Some(ACCT))
        .multipart(upload.form())
        .header("Idempotency-Key", "b")
        .send()
        .await
        .expect("upload");
    let (status, headers, file) = body(resp).await;
    assert_eq!(status, 200, "{file}");
    assert!(!headers.contains_key("idempotent-replayed"));
}

#[tokio::test]
async fn off_never_limits_and_stats_still_count() {
    let env = Env::start().await;
    assert_eq!(
        get_json(&env, "/_sim/rate_limits").await,
        json!({"mode": "off", "global_per_second": null, "endpoint_per_second": null,
               "files_reads_per_second": null, "files_writes_per_second": null})
    );
    let requests = (0..150)
        .map(|i| env.get(&format!("/v1/charges/ch_{i}"), Some(ACCT)))
        .collect();
    let (statuses, _) = burst(requests).await;
    assert_eq!(count(&statuses, 404), 150);
    let stats = get_json(&env, "/_sim/stats").await;
    assert_eq!(stats["requests"], 150);
    assert_eq!(stats["rate_limited"], 0);
    assert_eq!(stats["peak_per_second"], 150);
}

#[tokio::test]
async fn limits_change_at_run_time_and_reset_returns_to_the_configured_ones() {
    let env = Env::start().await;
    let set = env
        .control("/_sim/rate_limits", json!({"mode": "sandbox"}))
        .await;
    assert_eq!(
        set,
        json!({"mode": "sandbox", "global_per_second": 25, "endpoint_per_second": 25,
               "files_reads_per_second": 20, "files_writes_per_second": 20})
    );
    let custom = env
        .control(
            "/_sim/rate_limits",
            json!({"mode": "live", "endpoint_per_second": 3}),
        )
        .await;
    assert_eq!(custom["mode"], "custom");
    assert_eq!(custom["global_per_second"], 100);
    assert_eq!(get_json(&env, "/_sim/rate_limits").await, custom);
    let requests = (0..5).map(|_| env.get("/v1/charges/ch_1", None)).collect();
    let (statuses, refusals) = burst(requests).await;
    assert_eq!(statuses, [404, 404, 404, 429, 429]);
    assert!(
        message(&refusals[0])
            .contains("limit of 3 requests per second for the endpoint GET /v1/charges/{id}")
    );

    let (status, bad) = env
        .control_raw("/_sim/rate_limits", json!({"mode": "turbo"}))
        .await;
    assert_eq!(
        (status, bad["error"]["param"].clone()),
        (400, json!("mode"))
    );
    let (status, _) = env
        .control_raw("/_sim/rate_limits", json!({"global_per_second": 5}))
        .await;
    assert_eq!(status, 400);

    env.control("/_sim/reset", json!({})).await;
    assert_eq!(get_json(&env, "/_sim/rate_limits").await["mode"], "off");
    assert_eq!(get_json(&env, "/_sim/stats").await["requests"], 0);
}

#[tokio::test]
async fn stats_count_a_known_sequence_and_reset() {
    let env = env_with(Some(RateLimits {
        endpoint_per_second: 2,
        ..RateLimits::live()
    }))
    .await;
    let empty = get_json(&env, "/_sim/stats").await;
    assert_eq!(empty["requests"], 0);
    assert_eq!(empty["first_request_at_ms"], Value::Null);
    assert_eq!(empty["mean_per_second"], 0.0);
    assert_eq!(empty["by_endpoint"], json!({}));

    let upload = Upload::csv(CSV);
    let file = env.file(Some(ACCT), &upload).await;
    let requests = vec![
        env.get(&format!("/v1/files/{file}"), Some(ACCT)),
        env.get(&format!("/v1/files/{file}/contents"), Some(ACCT)),
        env.get("/v1/charges/ch_1", Some(ACCT)),
        env.get("/v1/charges/ch_2", None),
        // The third of this endpoint: refused, not counted as a request.
        env.get("/v1/charges/ch_3", Some(OTHER)),
        env.post("/v1/refunds", Some(ACCT)),
        env.get("/v1/no_such_thing", Some(ACCT)),
        // Neither counts: not authenticated, and not the API.
        env.http.get(env.url("/v1/charges/ch_4")),
        env.http.get(env.url("/_sim/health")),
    ];
    let (statuses, _) = burst(requests).await;
    assert_eq!(statuses, [200, 200, 404, 404, 429, 400, 404, 401, 200]);

    let stats = get_json(&env, "/_sim/stats").await;
    assert_eq!(stats["requests"], 7);
    assert_eq!(stats["rate_limited"], 1);
    assert_eq!(
        (stats["reads"].clone(), stats["writes"].clone()),
        (json!(5), json!(2))
    );
    assert_eq!(stats["files_reads"], 2);
    assert_eq!(stats["files_writes"], 1);
    assert_eq!(stats["peak_per_second"], 7);
    assert_eq!(stats["peak_reads_per_second"], 5);
    assert_eq!(stats["peak_writes_per_second"], 2);
    assert_eq!(stats["peak_files_per_second"], 3);
    assert_eq!(
        stats["by_endpoint"],
        json!({
            "POST /v1/files": 1,
            "GET /v1/files/{id}": 1,
            "GET /v1/files/{id}/contents": 1,
            "GET /v1/charges/{id}": 2,
            "POST /v1/refunds": 1,
            "GET (unrecognized)": 1,
        })
    );
    let first = stats["first_request_at_ms"].as_u64().expect("first");
    let last = stats["last_request_at_ms"].as_u64().expect("last");
    assert!(first <= last && last - first < 1000, "{first} {last}");
    let mean = stats["mean_per_second"].as_f64().expect("mean");
    let expected = if last == first {
        0.0
    } else {
        7000.0 / (last - first) as f64
    };
    assert!((mean - expected).abs() < 1e-6, "{mean} vs {expected}");

    assert_eq!(
        env.control("/_sim/stats/reset", json!({})).await,
        json!({"reset": true})
    );
    let reset = get_json(&env, "/_sim/stats").await;
    assert_eq!(reset["requests"], 0);
    assert_eq!(reset["rate_limited"], 0);
    assert_eq!(reset["peak_per_second"], 0);
    assert_eq!(reset["last_request_at_ms"], Value::Null);
    // Resetting the statistics is no way around a limit: the window still holds ch_1, ch_2.
    let (status, _, _) = body(env.get("/v1/charges/ch_5", None).send().await.expect("get")).await;
    assert_eq!(status, 429);
    assert_eq!(get_json(&env, "/_sim/stats").await["rate_limited"], 1);
}
