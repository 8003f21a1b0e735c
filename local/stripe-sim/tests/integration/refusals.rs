//! What stripe-sim refuses beyond parameter checks (its README, "What stripe-sim refuses,
//! and why"): both account headers at once, a v2 catalog import on a `Stripe-Version` older
//! than the feature it uses, an agentic-commerce account session without the embedded
//! components beta flag.

use crate::common::{ACCT, Env, KEY, V2_VERSION, body};
use serde_json::{Value, json};
use stripe_sim::SimConfig;

const IMPORTS: &str = "/v2/commerce/product_catalog/imports";
const API_VERSION: &str = "2026-04-22.dahlia";
const MODE_VERSION: &str = V2_VERSION;

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let (status, _, value) = body(req.send().await.expect("send")).await;
    (status, value)
}

fn assert_refused(status: u16, error: &Value, needles: &[&str]) {
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
    let message = error["error"]["message"].as_str().unwrap_or_default();
    for needle in needles {
        assert!(message.contains(needle), "{needle:?} not in {message:?}");
    }
}

/// A v2 catalog-import request in `ACCT`'s context on `version` (none: no header).
fn v2(
    env: &Env,
    method: reqwest::Method,
    path: &str,
    version: Option<&str>,
) -> reqwest::RequestBuilder {
    let req = env
        .http
        .request(method, env.url(path))
        .bearer_auth(KEY)
        .header("Stripe-Context", ACCT);
    match version {
        Some(version) => req.header("Stripe-Version", version),
        None => req,
    }
}

#[tokio::test]
async fn both_account_headers_together_are_refused() {
    let env = Env::start().await;
    let both = |req: reqwest::RequestBuilder| {
        req.header("Stripe-Account", ACCT)
            .header("Stripe-Context", ACCT)
    };
    let (status, error) = send(both(env.get("/v1/checkout/sessions/cs_missing", None))).await;
    assert_refused(status, &error, &["Stripe-Account", "Stripe-Context"]);
    let (status, error) = send(
        both(v2(&env, reqwest::Method::POST, IMPORTS, Some(MODE_VERSION)))
            .header("Idempotency-Key", "both-1")
            .json(&json!({"feed_type": "product", "mode": "upsert"})),
    )
    .await;
    assert_refused(status, &error, &["Stripe-Account", "Stripe-Context"]);
    // Refused before anything ran: the same key with one header creates the import.
    let (status, created) = send(
        v2(&env, reqwest::Method::POST, IMPORTS, Some(MODE_VERSION))
            .header("Idempotency-Key", "both-1")
            .json(&json!({"feed_type": "product", "mode": "upsert"})),
    )
    .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(env.catalog(ACCT).await["imports"], json!([created["id"]]));
}

#[tokio::test]
async fn catalog_imports_need_the_version_that_brought_the_api() {
    let env = Env::start().await;
    let create = json!({"feed_type": "product"});
    for version in [Some("2025-12-15.preview"), Some("2026-04-21.dahlia"), None] {
        let (status, error) =
            send(v2(&env, reqwest::Method::POST, IMPORTS, version).json(&create)).await;
        assert_refused(status, &error, &[API_VERSION]);
        let (status, error) = send(v2(
            &env,
            reqwest::Method::GET,
            &format!("{IMPORTS}/pcimprt_x"),
            version,
        ))
        .await;
        assert_refused(status, &error, &[API_VERSION]);
    }
    // No header: the account's default version (the configured `api_version`) is named.
    let (_, error) = send(v2(&env, reqwest::Method::POST, IMPORTS, None).json(&create)).await;
    assert_refused(400, &error, &["2025-12-15.preview"]);
    let (status, error) =
        send(v2(&env, reqwest::Method::POST, IMPORTS, Some("latest")).json(&create)).await;
    assert_refused(status, &error, &["latest"]);

    // The API's own version, without `mode`: an upsert import.
    let (status, import) =
        send(v2(&env, reqwest::Method::POST, IMPORTS, Some(API_VERSION)).json(&create)).await;
    assert_eq!(status, 200, "{import}");
    assert_eq!(import["status"], "awaiting_upload");
    let id = import["id"].as_str().expect("id");
    let (status, read) = send(v2(
        &env,
        reqwest::Method::GET,
        &format!("{IMPORTS}/{id}"),
        Some(API_VERSION),
    ))
    .await;
    assert_eq!((status, &read["id"]), (200, &import["id"]));
}

#[tokio::test]
async fn mode_and_promotion_feeds_need_their_own_version() {
    let env = Env::start().await;
    let cases = [
        (json!({"feed_type": "product", "mode": "upsert"}), "mode"),
        (json!({"feed_type": "product", "mode": "replace"}), "mode"),
        (json!({"feed_type": "promotion"}), "feed_type"),
    ];
    for (params, param) in cases {
        for version in [API_VERSION, "2026-06-23.dahlia; some_beta=v1"] {
            let (status, error) =
                send(v2(&env, reqwest::Method::POST, IMPORTS, Some(version)).json(&params)).await;
            assert_refused(status, &error, &[MODE_VERSION]);
            assert_eq!(error["error"]["param"], param, "{error}");
        }
    }
    // The date decides; names and beta parts after it do not.
    for version in [
        MODE_VERSION,
        "2026-06-24.dahlia; embedded_connect_beta=v2",
        "2026-09-30.preview",
    ] {
        let (status, import) = send(
            v2(&env, reqwest::Method::POST, IMPORTS, Some(version))
                .json(&json!({"feed_type": "promotion", "mode": "upsert"})),
        )
        .await;
        assert_eq!(status, 200, "{version}: {import}");
        assert_eq!(import["feed_type"], "promotion");
    }
}

const SESSIONS: &str = "/v1/account_sessions";
const COMPONENT: [(&str, &str); 2] = [
    ("account", ACCT),
    ("components[agentic_commerce_settings][enabled]", "true"),
];

#[tokio::test]
async fn agentic_commerce_account_sessions_need_the_embedded_beta_flag() {
    let env = Env::start().await;
    for version in [
        None,
        Some("2026-06-24.dahlia"),
        Some("2026-06-24.dahlia; embedded_connect_beta=v1"),
    ] {
        let mut req = env.post(SESSIONS, None).form(&COMPONENT);
        if let Some(version) = version {
            req = req.header("Stripe-Version", version);
        }
        let (status, error) = send(req.header("Idempotency-Key", "accs-beta")).await;
        assert_refused(status, &error, &["embedded_connect_beta=v2"]);
    }
    for version in [
        "2026-06-24.dahlia; embedded_connect_beta=v2",
        "2026-06-24.dahlia;embedded_connect_beta=v2;",
    ] {
        let (status, session) = send(
            env.post(SESSIONS, None)
                .header("Stripe-Version", version)
                .form(&COMPONENT),
        )
        .await;
        assert_eq!(status, 200, "{version}: {session}");
        assert_eq!(session["object"], "account_session");
    }
}

#[tokio::test]
async fn the_account_session_beta_rule_can_be_switched_off() {
    let env = Env::with(SimConfig {
        account_sessions_beta: None,
        ..SimConfig::default()
    })
    .await;
    let (status, session) = send(env.post(SESSIONS, None).form(&COMPONENT)).await;
    assert_eq!(status, 200, "{session}");
}
