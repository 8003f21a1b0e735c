//! Orchestrated-commerce agreements: lifecycle, scoping, the preview version, their thin
//! events (signed, retrievable, redelivered in any order with duplicates) and account
//! sessions.

use crate::common::{ACCT, Env, OTHER, Receiver, body};
use crate::webhooks::verify;
use reqwest::Method;
use serde_json::{Value, json};
use stripe_sim::SimConfig;

const PREVIEW: &str = "2026-04-22.preview";
const THIN_SECRET: &str = "whsec_test_thin_sim";
const PATH: &str = "/v2/orchestrated_commerce/agreements";

impl Env {
    /// An agreements request in `context` with the preview version.
    async fn agreements(
        &self,
        method: Method,
        path: &str,
        context: Option<&str>,
        params: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .bearer_auth(crate::common::KEY)
            .header("Stripe-Version", PREVIEW);
        if let Some(context) = context {
            req = req.header("Stripe-Context", context);
        }
        if let Some(params) = params {
            req = req.json(&params);
        }
        let (status, _, value) = body(req.send().await.expect("send")).await;
        (status, value)
    }

    async fn create_agreement(&self, context: &str, params: Value) -> Value {
        let (status, value) = self
            .agreements(Method::POST, PATH, Some(context), Some(params))
            .await;
        assert_eq!(status, 200, "{value}");
        value
    }

    async fn act(&self, context: &str, id: &str, action: &str, party: &str) -> (u16, Value) {
        self.agreements(
            Method::POST,
            &format!("{PATH}/{id}/{action}"),
            Some(context),
            Some(json!({ "party": party })),
        )
        .await
    }
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| s.len() == 24 && s.ends_with('Z') && s.as_bytes()[10] == b'T')
}

#[tokio::test]
async fn lifecycle_confirms_both_sides_in_either_order_then_terminates() {
    let env = Env::start().await;
    let created = env
        .create_agreement(
            ACCT,
            json!({
                "orchestrator_details": {"name": "Agent Co", "network_business_profile": "profile_agent"},
                "seller_details": {"network_business_profile": "profile_seller"},
            }),
        )
        .await;
    let id = created["id"].as_str().expect("id").to_string();
    assert!(id.starts_with("orca_"));
    assert_eq!(created["object"], "v2.orchestrated_commerce.agreement");
    assert_eq!(created["livemode"], false);
    assert!(is_rfc3339(&created["created"]));
    assert_eq!(created["initiated_by"], "seller", "the default");
    assert_eq!(
        created["orchestrator_details"],
        json!({"name": "Agent Co", "network_business_profile": "profile_agent"})
    );
    assert_eq!(
        created["seller_details"],
        json!({"network_business_profile": "profile_seller"})
    );
    assert_eq!(created["status"], "initiated");
    assert_eq!(
        created["status_transitions"],
        json!({"orchestrator_confirmed_at": null, "seller_confirmed_at": null, "terminated_at": null})
    );
    assert_eq!(created["terminated_by"], Value::Null);

    for (first, second) in [("orchestrator", "seller"), ("seller", "orchestrator")] {
        let agreement = env
            .create_agreement(ACCT, json!({"initiated_by": "orchestrator"}))
            .await;
        assert_eq!(agreement["initiated_by"], "orchestrator");
        let id = agreement["id"].as_str().expect("id");
        let (status, one) = env.act(ACCT, id, "confirm", first).await;
        assert_eq!(status, 200, "{one}");
        assert_eq!(one["status"], "partially_confirmed");
        assert!(is_rfc3339(
            &one["status_transitions"][format!("{first}_confirmed_at")]
        ));
        assert_eq!(
            one["status_transitions"][format!("{second}_confirmed_at")],
            Value::Null
        );
        let (status, again) = env.act(ACCT, id, "confirm", first).await;
        assert_eq!(status, 400, "one side confirms once: {again}");
        let (_, both) = env.act(ACCT, id, "confirm", second).await;
        assert_eq!(both["status"], "confirmed");
        assert!(is_rfc3339(
            &both["status_transitions"]["orchestrator_confirmed_at"]
        ));
        assert!(is_rfc3339(
            &both["status_transitions"]["seller_confirmed_at"]
        ));
    }

    // Terminated from initiated; then final for both verbs.
    let (status, ended) = env.act(ACCT, &id, "terminate", "orchestrator").await;
    assert_eq!(status, 200, "{ended}");
    assert_eq!(ended["status"], "terminated");
    assert_eq!(ended["terminated_by"], "orchestrator");
    assert!(is_rfc3339(&ended["status_transitions"]["terminated_at"]));
    for action in ["confirm", "terminate"] {
        for party in ["seller", "orchestrator"] {
            let (status, err) = env.act(ACCT, &id, action, party).await;
            assert_eq!(status, 400, "{action} by {party}: {err}");
            assert_eq!(err["error"]["type"], "invalid_request_error");
        }
    }
    let (_, still) = env
        .agreements(Method::GET, &format!("{PATH}/{id}"), Some(ACCT), None)
        .await;
    assert_eq!(still, ended, "nothing changed");

    // A default party is the seller (the caller of the seller's context).
    let agreement = env.create_agreement(ACCT, json!({})).await;
    let (_, confirmed) = env
        .agreements(
            Method::POST,
            &format!("{PATH}/{}/confirm", agreement["id"].as_str().expect("id")),
            Some(ACCT),
            None,
        )
        .await;
    assert!(is_rfc3339(
        &confirmed["status_transitions"]["seller_confirmed_at"]
    ));
    let (status, bad) = env
        .act(
            ACCT,
            agreement["id"].as_str().expect("id"),
            "confirm",
            "buyer",
        )
        .await;
    assert_eq!(
        (status, bad["error"]["param"].clone()),
        (400, json!("party"))
    );
}

#[tokio::test]
async fn list_and_retrieve_are_scoped_to_the_context() {
    let env = Env::start().await;
    let a = env.create_agreement(ACCT, json!({})).await;
    let b = env.create_agreement(ACCT, json!({})).await;
    let theirs = env.create_agreement(OTHER, json!({})).await;
    let (status, list) = env.agreements(Method::GET, PATH, Some(ACCT), None).await;
    assert_eq!(status, 200);
    assert_eq!(list["next_page_url"], Value::Null);
    let ids: Vec<&Value> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| &x["id"])
        .collect();
    assert_eq!(ids, [&b["id"], &a["id"]], "newest first, own only");

    let (_, page) = env
        .agreements(Method::GET, &format!("{PATH}?limit=1"), Some(ACCT), None)
        .await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
    let next = page["next_page_url"].as_str().expect("next page");
    let (_, rest) = env.agreements(Method::GET, next, Some(ACCT), None).await;
    assert_eq!(rest["data"][0]["id"], a["id"]);
    assert_eq!(rest["next_page_url"], Value::Null);

    let own = format!("{PATH}/{}", a["id"].as_str().expect("id"));
    let (status, got) = env.agreements(Method::GET, &own, Some(ACCT), None).await;
    assert_eq!((status, &got), (200, &a));
    let (status, err) = env.agreements(Method::GET, &own, Some(OTHER), None).await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "resource_missing");
    let foreign = format!("{PATH}/{}/confirm", theirs["id"].as_str().expect("id"));
    let (status, _) = env
        .agreements(Method::POST, &foreign, Some(ACCT), None)
        .await;
    assert_eq!(status, 404, "cannot confirm another account's agreement");

    // Stripe-Account works as the context too; no context at all is refused.
    let resp = env
        .get(&own, Some(ACCT))
        .header("Stripe-Version", PREVIEW)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 200);
    let (status, _) = env.agreements(Method::GET, PATH, None, None).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_preview_version_is_required_and_keys_are_idempotent() {
    let env = Env::start().await;
    for version in [None, Some("2025-12-15.clover")] {
        let mut req = env
            .post(PATH, None)
            .header("Stripe-Context", ACCT)
            .json(&json!({}));
        if let Some(version) = version {
            req = req.header("Stripe-Version", version);
        }
        let (status, _, err) = body(req.send().await.expect("send")).await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert!(
            err["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("preview")),
            "{err}"
        );
    }
    assert!(env.events().await.is_empty(), "nothing was created");

    let send = || {
        env.post(PATH, None)
            .header("Stripe-Context", ACCT)
            .header("Stripe-Version", PREVIEW)
            .header("Idempotency-Key", "agreement-1")
            .json(&json!({"orchestrator_details": {"name": "Agent"}}))
            .send()
    };
    let (_, _, first) = body(send().await.expect("send")).await;
    let (status, headers, second) = body(send().await.expect("send")).await;
    assert_eq!(status, 200);
    assert_eq!(first, second);
    assert_eq!(
        headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(env.events().await.len(), 1, "one created event");

    let (status, err) = env
        .agreements(
            Method::POST,
            PATH,
            Some(ACCT),
            Some(json!({"initiated_by": "buyer"})),
        )
        .await;
    assert_eq!(
        (status, &err["error"]["param"]),
        (400, &json!("initiated_by"))
    );
    let (status, err) = env
        .agreements(
            Method::POST,
            PATH,
            Some(ACCT),
            Some(json!({"orchestrator_details": {"nmae": "typo"}})),
        )
        .await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (400, &json!("parameter_unknown"))
    );
}

#[tokio::test]
async fn thin_events_are_signed_retrievable_and_redelivered_in_any_order() {
    let thin = Receiver::start(&[]).await;
    let env = Env::with(SimConfig {
        thin_event_url: Some(thin.url.clone()),
        ..SimConfig::default()
    })
    .await;
    let made = env
        .control(
            "/_sim/agreements",
            json!({"account": ACCT, "orchestrator_name": "Agent Co", "confirm": "both", "terminate": true, "wait_for_delivery": true}),
        )
        .await;
    let agreement = &made["agreement"];
    let id = agreement["id"].as_str().expect("id");
    assert_eq!(agreement["status"], "terminated");
    assert_eq!(agreement["initiated_by"], "orchestrator");
    assert_eq!(agreement["terminated_by"], "orchestrator");
    assert_eq!(agreement["orchestrator_details"]["name"], "Agent Co");
    let events: Vec<String> = made["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e.as_str().expect("event id").to_string())
        .collect();
    assert_eq!(events.len(), 4);

    let hits = thin.wait_for(4).await;
    assert_eq!(hits.len(), 4);
    let types: Vec<String> = hits
        .iter()
        .map(|h| h.json()["type"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        types,
        ["created", "partially_confirmed", "confirmed", "terminated"]
            .map(|t| format!("v2.orchestrated_commerce.agreement.{t}"))
    );
    for (hit, event_id) in hits.iter().zip(&events) {
        assert!(verify(hit, THIN_SECRET), "signed with the thin secret");
        assert!(!verify(hit, "whsec_test_sim"));
        let event = hit.json();
        assert_eq!(&event["id"], event_id);
        assert_eq!(event["object"], "v2.core.event");
        assert_eq!(event["livemode"], false);
        assert_eq!(event["context"], ACCT);
        assert_eq!(event["reason"], Value::Null);
        assert!(is_rfc3339(&event["created"]));
        assert_eq!(
            event["related_object"],
            json!({"id": id, "type": "v2.orchestrated_commerce.agreement", "url": format!("{PATH}/{id}")})
        );
        assert!(event.get("data").is_none());

        let path = format!("/v2/core/events/{event_id}");
        let (status, full) = env.agreements(Method::GET, &path, Some(ACCT), None).await;
        assert_eq!(status, 200);
        let mut expected = event.clone();
        expected["data"] = json!({});
        assert_eq!(full, expected);
        let (status, _) = env.agreements(Method::GET, &path, Some(OTHER), None).await;
        assert_eq!(status, 404);
        // The related object is reachable at its url.
        let url = event["related_object"]["url"].as_str().expect("url");
        let (status, object) = env.agreements(Method::GET, url, Some(ACCT), None).await;
        assert_eq!((status, &object), (200, agreement));
    }
    let recorded = env.events().await;
    assert_eq!(recorded.len(), 4);
    assert!(recorded.iter().all(|r| r["thin"] == true));

    // An explicit order with duplicates: the sequence, then once more.
    let order = [&events[3], &events[1], &events[0], &events[2]];
    let answer = env
        .control(
            &format!("/_sim/agreements/{id}/redeliver"),
            json!({"order": order, "duplicates": 1, "wait_for_delivery": true}),
        )
        .await;
    assert_eq!(answer["deliveries"].as_array().map(Vec::len), Some(8));
    let got: Vec<Value> = thin.hits()[4..]
        .iter()
        .map(|h| h.json()["id"].clone())
        .collect();
    let expected: Vec<Value> = order.iter().chain(order.iter()).map(|e| json!(e)).collect();
    assert_eq!(got, expected);
    assert!(thin.hits()[4..].iter().all(|h| verify(h, THIN_SECRET)));

    env.control(
        &format!("/_sim/agreements/{id}/redeliver"),
        json!({"order": "reverse", "wait_for_delivery": true}),
    )
    .await;
    let got: Vec<Value> = thin.hits()[12..]
        .iter()
        .map(|h| h.json()["id"].clone())
        .collect();
    let reversed: Vec<Value> = events.iter().rev().map(|e| json!(e)).collect();
    assert_eq!(got, reversed);

    let (status, _) = env
        .control_raw(
            &format!("/_sim/agreements/{id}/redeliver"),
            json!({"order": ["evt_test_not_this_one"]}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = env
        .control_raw("/_sim/agreements/orca_missing/redeliver", json!({}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn api_changes_deliver_events_and_control_walks_partial_states() {
    let thin = Receiver::start(&[]).await;
    let env = Env::with(SimConfig {
        thin_event_url: Some(thin.url.clone()),
        ..SimConfig::default()
    })
    .await;
    let agreement = env.create_agreement(ACCT, json!({})).await;
    let id = agreement["id"].as_str().expect("id");
    env.act(ACCT, id, "confirm", "seller").await;
    let hits = thin.wait_for(2).await;
    let types: Vec<Value> = hits.iter().map(|h| h.json()["type"].clone()).collect();
    assert!(types.contains(&json!("v2.orchestrated_commerce.agreement.created")));
    assert!(types.contains(&json!(
        "v2.orchestrated_commerce.agreement.partially_confirmed"
    )));

    let made = env
        .control(
            "/_sim/agreements",
            json!({"account": ACCT, "confirm": "orchestrator", "deliver": false}),
        )
        .await;
    assert_eq!(made["agreement"]["status"], "partially_confirmed");
    assert_eq!(made["events"].as_array().map(Vec::len), Some(2));
    let (status, _) = env
        .control_raw("/_sim/agreements", json!({"account": "cus_123"}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = env
        .control_raw(
            "/_sim/agreements",
            json!({"account": ACCT, "confirm": "maybe"}),
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn account_sessions() {
    let env = Env::start().await;
    let create = |params: &'static [(&'static str, &'static str)], key: Option<&'static str>| {
        let mut req = env
            .post("/v1/account_sessions", None)
            .header(
                "Stripe-Version",
                "2026-06-24.dahlia; embedded_connect_beta=v2",
            )
            .form(params);
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        async move { body(req.send().await.expect("send")).await }
    };
    let good: &[(&str, &str)] = &[
        ("account", ACCT),
        ("components[agentic_commerce_settings][enabled]", "true"),
    ];
    let (status, _, session) = create(good, Some("accs-1")).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["object"], "account_session");
    assert_eq!(session["account"], ACCT);
    assert_eq!(session["livemode"], false);
    assert!(
        session["client_secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("accs_secret_"))
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let expires = session["expires_at"].as_i64().expect("expires_at");
    assert!((now + 1790..=now + 1810).contains(&expires), "{expires}");
    assert_eq!(
        session["components"],
        json!({"agentic_commerce_settings": {"enabled": true, "features": {}}})
    );
    let (_, headers, replayed) = create(good, Some("accs-1")).await;
    assert_eq!(replayed, session);
    assert!(headers.contains_key("idempotent-replayed"));
    let (_, _, fresh) = create(good, None).await;
    assert_ne!(fresh["client_secret"], session["client_secret"]);

    let (status, _, err) = create(&[("account", ACCT)], None).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["code"], "parameter_missing");
    let (status, _, err) = create(
        &[
            ("account", ACCT),
            ("components[agentic_commerce_settings][enabled]", "false"),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, &err["error"]["type"]),
        (400, &json!("invalid_request_error"))
    );
    let (status, _, err) = create(
        &[
            ("account", "cus_123"),
            ("components[agentic_commerce_settings][enabled]", "true"),
        ],
        None,
    )
    .await;
    assert_eq!((status, &err["error"]["param"]), (400, &json!("account")));
    let (status, _, err) = create(
        &[("components[agentic_commerce_settings][enabled]", "true")],
        None,
    )
    .await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (400, &json!("parameter_missing"))
    );
    let (status, _, err) = create(
        &[("account", ACCT), ("components[payments][enabled]", "true")],
        None,
    )
    .await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (400, &json!("parameter_unknown"))
    );
    let resp = env
        .http
        .post(env.url("/v1/account_sessions"))
        .form(good)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 401, "needs the platform key");
}
