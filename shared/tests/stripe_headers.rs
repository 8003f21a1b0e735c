//! The headers the client sends (docs/stripe.md §8, §9, §6.5): seen by a loopback recorder
//! for the exact values, and by stripe-sim, which refuses what Stripe's SDKs refuse.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use shared::account_sessions::AccountSessionApi;
use shared::config::{Env, StripeSettings};
use shared::imports::Feed;
use shared::secret::Secret;
use shared::stripe::catalog::{CatalogApi, CatalogApiSettings, StripeCatalog, Upload};
use shared::stripe::{RequestOptions, StripeClient, StripeError};
use stripe_sim::SimConfig;

const ACCOUNT: &str = "acct_1Headers";

/// One request as the recorder saw it: method, path, and its headers (lower-case names).
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A loopback server that records every request and answers `answer` as JSON.
async fn recorder(answer: Value) -> (testkit::gateway::Gateway, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let gateway = testkit::gateway::serve(move |request| {
        let log = log.clone();
        let answer = answer.clone();
        async move {
            let headers = request
                .headers()
                .iter()
                .map(|(n, v)| {
                    (
                        n.as_str().to_ascii_lowercase(),
                        v.to_str().unwrap_or("").to_string(),
                    )
                })
                .collect();
            log.lock().unwrap().push(Seen {
                method: request.method().to_string(),
                path: request.uri().path().to_string(),
                headers,
            });
            http::Response::builder()
                .status(200)
                .header("content-type", "application/json")
                .body(answer.to_string())
                .unwrap()
        }
    })
    .await;
    (gateway, seen)
}

fn client_at(base: &str, extra: &[(&str, &str)]) -> StripeClient {
    let mut vars = vec![
        ("STRIPE_API_BASE".to_string(), base.to_string()),
        ("STRIPE_FILES_BASE".to_string(), base.to_string()),
        ("STRIPE_MAX_NETWORK_RETRIES".to_string(), "0".to_string()),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let settings = StripeSettings::from_env(&Env::from_map(vars)).unwrap();
    let http = shared::stripe::http_client(&settings).unwrap();
    StripeClient::new(http, &settings, Secret::new("sk_test_sim"))
}

/// The date part of a `Stripe-Version` value (`2026-06-24` of `2026-06-24.dahlia; x=v1`).
fn version_date(version: &str) -> &str {
    version.get(..10).unwrap_or(version)
}

#[tokio::test]
async fn a_request_with_both_account_and_context_is_refused_before_it_is_sent() {
    let (gateway, seen) = recorder(json!({"id": "ch_1"})).await;
    let client = client_at(&gateway.url(""), &[]);
    let both = RequestOptions {
        account: Some(ACCOUNT.into()),
        context: Some(ACCOUNT.into()),
        ..RequestOptions::default()
    };
    let get = client.get("/v1/charges/ch_1", &[], &both).await;
    let post = client
        .post_json("/v2/commerce/product_catalog/imports", &json!({}), &both)
        .await;
    for outcome in [get, post] {
        let err = outcome.expect_err("both headers must be refused");
        let message = err.to_string();
        assert!(
            message.contains("Stripe-Account") && message.contains("Stripe-Context"),
            "{message}"
        );
        assert!(!err.is_transient(), "retrying cannot fix it: {err:?}");
    }
    assert!(seen.lock().unwrap().is_empty(), "nothing may be sent");
    // Each header alone still goes out.
    client
        .get("/v1/charges/ch_1", &[], &RequestOptions::account(ACCOUNT))
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn v2_catalog_calls_send_only_the_context_and_a_version_with_mode() {
    let import = json!({"id": "pcimprt_1", "object": "v2.commerce.product_catalog_import", "status": "processing", "status_details": {"processing": {"success_count": "0", "error_count": "0"}}});
    let (gateway, seen) = recorder(import).await;
    let catalog = StripeCatalog::new(
        client_at(&gateway.url(""), &[]),
        CatalogApiSettings::from_env(&Env::default()).unwrap(),
    );
    let state = catalog
        .start_v2(ACCOUNT, Feed::Product, true, "s3://b/k#1", || async {
            Err::<Upload, _>(StripeError::Network(
                "a processing import needs no upload".into(),
            ))
        })
        .await
        .unwrap();
    assert_eq!(state.status, "processing");
    catalog.poll_v2(ACCOUNT, "pcimprt_1").await.unwrap();

    let seen = seen.lock().unwrap().clone();
    let methods: Vec<&str> = seen.iter().map(|r| r.method.as_str()).collect();
    // The create, one read of the import as it is, the poll.
    assert_eq!(methods, ["POST", "GET", "GET"], "{seen:?}");
    for request in &seen {
        assert!(
            request
                .path
                .starts_with("/v2/commerce/product_catalog/imports")
        );
        assert_eq!(
            request.header("stripe-context"),
            Some(ACCOUNT),
            "{request:?}"
        );
        assert_eq!(request.header("stripe-account"), None, "{request:?}");
        let version = request.header("stripe-version").unwrap_or("");
        assert!(
            version_date(version) >= "2026-06-24",
            "`mode` and the promotion feed need 2026-06-24.dahlia or later, sent {version:?}"
        );
    }
}

#[tokio::test]
async fn the_v2_catalog_version_stays_configurable() {
    let settings = CatalogApiSettings::from_env(&Env::from_map([(
        "STRIPE_CATALOG_V2_API_VERSION",
        "2026-09-30.dahlia",
    )]))
    .unwrap();
    assert_eq!(settings.v2_version, "2026-09-30.dahlia");
    let default = CatalogApiSettings::from_env(&Env::default()).unwrap();
    assert!(
        version_date(&default.v2_version) >= "2026-06-24",
        "{default:?}"
    );
    // Every create sends `mode`: a version without it is refused at cold start, by name.
    for old in ["2025-12-15.preview", "2026-04-22.dahlia", "dahlia"] {
        let err =
            CatalogApiSettings::from_env(&Env::from_map([("STRIPE_CATALOG_V2_API_VERSION", old)]))
                .expect_err(old);
        let message = err.to_string();
        assert!(
            message.contains("STRIPE_CATALOG_V2_API_VERSION") && message.contains("2026-06-24"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn v2_catalog_imports_run_against_stripe_sim_with_the_default_settings() {
    let sim = stripe_sim::start(SimConfig::default(), 0).await.unwrap();
    let catalog = StripeCatalog::new(
        client_at(&sim.base_url(), &[]),
        CatalogApiSettings::from_env(&Env::default()).unwrap(),
    );
    let csv = "id,title,price,availability\nSKU-1,Shoe,15.00 USD,in_stock\n";
    let state = catalog
        .start_v2(ACCOUNT, Feed::Product, false, "s3://b/k#2", || async move {
            Ok(Upload {
                filename: "products.csv".into(),
                content_type: "text/csv",
                length: csv.len() as u64,
                body: reqwest::Body::from(csv),
            })
        })
        .await
        .unwrap();
    // Starting costs the create and one read (state and upload URL together); whether the
    // file is done is left to the import's events and polls.
    let stats: serde_json::Value = reqwest::get(format!("{}/_sim/stats", sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            stats["by_endpoint"]["POST /v2/commerce/product_catalog/imports"].as_u64(),
            stats["by_endpoint"]["GET /v2/commerce/product_catalog/imports/{id}"].as_u64(),
        ),
        (Some(1), Some(1)),
        "{stats}"
    );
    assert!(!state.terminal, "{state:?}");
    let state = catalog.poll_v2(ACCOUNT, &state.id).await.unwrap();
    assert_eq!(state.status, "succeeded", "{state:?}");
    assert_eq!(state.success_count, Some(1));
}

#[tokio::test]
async fn account_sessions_send_the_embedded_components_beta_version() {
    let session = json!({"object": "account_session", "account": ACCOUNT, "client_secret": "accs_secret__x", "expires_at": 1});
    let (gateway, seen) = recorder(session).await;
    client_at(&gateway.url(""), &[])
        .create_account_session(ACCOUNT)
        .await
        .unwrap();
    client_at(
        &gateway.url(""),
        &[("STRIPE_ACCOUNT_SESSIONS_API_VERSION", "2026-09-30.dahlia")],
    )
    .create_account_session(ACCOUNT)
    .await
    .unwrap();
    let seen = seen.lock().unwrap().clone();
    let versions: Vec<_> = seen.iter().map(|r| r.header("stripe-version")).collect();
    assert_eq!(
        versions,
        [
            Some("2026-06-24.dahlia; embedded_connect_beta=v2"),
            Some("2026-09-30.dahlia; embedded_connect_beta=v2"),
        ]
    );
    for request in &seen {
        // The account is a form parameter; the platform acts as itself.
        assert_eq!(request.header("stripe-account"), None);
        assert_eq!(request.header("stripe-context"), None);
    }

    let sim = stripe_sim::start(SimConfig::default(), 0).await.unwrap();
    let created = client_at(&sim.base_url(), &[])
        .create_account_session(ACCOUNT)
        .await
        .unwrap();
    assert_eq!(created["account"], ACCOUNT);
}
