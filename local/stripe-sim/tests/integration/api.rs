use crate::common::{ACCT, Env, KEY, body};
use serde_json::{Value, json};

fn session_id(purchase: &Value) -> String {
    purchase["checkout_session"]["id"]
        .as_str()
        .expect("session id")
        .to_string()
}

#[tokio::test]
async fn missing_and_unknown_keys_are_401_with_masked_key() {
    let env = Env::start().await;
    let resp = env
        .http
        .get(env.url("/v1/charges/ch_1"))
        .send()
        .await
        .expect("send");
    let (status, headers, value) = body(resp).await;
    assert_eq!(status, 401);
    assert!(
        headers
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("req_"))
    );
    assert_eq!(value["error"]["type"], "invalid_request_error");
    assert!(
        value["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("You did not provide an API key.")
    );

    let secret = "sk_test_51VerySecretValue9876";
    let resp = env
        .http
        .get(env.url("/v1/charges/ch_1"))
        .bearer_auth(secret)
        .send()
        .await
        .expect("send");
    let (status, _, value) = body(resp).await;
    assert_eq!(status, 401);
    let message = value["error"]["message"].as_str().unwrap_or("");
    assert_eq!(message, "Invalid API Key provided: sk_test_****9876");
    assert!(!value.to_string().contains("VerySecret"));

    // Basic auth with the key as username is accepted (the charge is then simply missing).
    let resp = env
        .http
        .get(env.url("/v1/charges/ch_1"))
        .basic_auth(KEY, None::<&str>)
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 404);
}

#[tokio::test]
async fn objects_are_scoped_to_their_account() {
    let env = Env::start().await;
    let purchase = env.purchase(json!({})).await;
    let id = session_id(&purchase);
    let path = format!("/v1/checkout/sessions/{id}");

    let (status, _, value) = body(env.get(&path, Some(ACCT)).send().await.expect("send")).await;
    assert_eq!(status, 200);
    assert_eq!(value["id"], json!(id));

    for account in [Some("acct_1SomeoneElse"), None] {
        let (status, _, value) = body(env.get(&path, account).send().await.expect("send")).await;
        assert_eq!(status, 404, "{account:?}");
        assert_eq!(value["error"]["code"], "resource_missing");
        assert_eq!(value["error"]["param"], "id");
        assert_eq!(
            value["error"]["message"],
            json!(format!("No such checkout.session: '{id}'"))
        );
    }

    let (status, _, value) = body(
        env.get(&path, Some("not-an-account"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(value["error"]["code"], "account_invalid");
}

#[tokio::test]
async fn session_without_expand_has_ids_only() {
    let env = Env::start().await;
    let id = session_id(&env.purchase(json!({})).await);
    let (status, headers, s) = body(
        env.get(&format!("/v1/checkout/sessions/{id}"), Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(headers.contains_key("request-id"));
    assert_eq!(s["object"], "checkout.session");
    assert!(
        s["payment_intent"]
            .as_str()
            .is_some_and(|p| p.starts_with("pi_"))
    );
    assert!(s.get("line_items").is_none());
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "paid");
    assert_eq!(s["mode"], "payment");
    assert_eq!(s["livemode"], false);
    assert_eq!(s["amount_subtotal"], 3000);
    assert_eq!(s["amount_total"], 3748);
    assert_eq!(
        s["total_details"],
        json!({"amount_discount": 0, "amount_shipping": 500, "amount_tax": 248})
    );
    assert_eq!(
        s["collected_information"]["shipping_details"]["address"]["city"],
        "Austin"
    );
    assert_eq!(
        s["expires_at"].as_i64().unwrap_or(0) - s["created"].as_i64().unwrap_or(0),
        86_400
    );
}

#[tokio::test]
async fn order_pipeline_expansion_yields_every_order_field() {
    let env = Env::start().await;
    let id = session_id(&env.purchase(json!({})).await);
    let resp = env
        .get(&format!("/v1/checkout/sessions/{id}"), Some(ACCT))
        .query(&[
            ("expand[]", "line_items.data.price.product"),
            ("expand[]", "line_items.data.taxes"),
            ("expand[]", "payment_intent.latest_charge"),
        ])
        .header("Stripe-Version", "2025-12-15.preview")
        .send()
        .await
        .expect("send");
    let (status, headers, s) = body(resp).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        headers.get("stripe-version").and_then(|v| v.to_str().ok()),
        Some("2025-12-15.preview")
    );

    let items = &s["line_items"];
    assert_eq!(items["object"], "list");
    assert_eq!(items["has_more"], false);
    assert_eq!(
        items["url"],
        json!(format!("/v1/checkout/sessions/{id}/line_items"))
    );
    let item = &items["data"][0];
    assert!(item["id"].as_str().is_some_and(|i| i.starts_with("li_")));
    assert_eq!(item["object"], "item");
    assert_eq!(item["quantity"], 2);
    assert_eq!(
        (
            item["amount_subtotal"].as_i64(),
            item["amount_tax"].as_i64(),
            item["amount_total"].as_i64()
        ),
        (Some(3000), Some(248), Some(3248))
    );
    assert_eq!(item["price"]["external_reference"], "SKU-1");
    assert_eq!(item["price"]["unit_amount"], 1500);
    assert_eq!(item["price"]["product"]["object"], "product");
    assert_eq!(item["price"]["product"]["description"], "A shoe for trails");
    assert_eq!(
        item["price"]["product"]["identifiers"],
        json!({"gtin": "00012345678905", "mpn": "TS-1"})
    );
    let tax = &item["taxes"][0];
    assert_eq!(tax["amount"], 248);
    assert_eq!(tax["taxability_reason"], "standard_rated");
    assert_eq!(tax["taxable_amount"], 3000);
    assert_eq!(tax["rate"]["object"], "tax_rate");
    assert_eq!(tax["rate"]["percentage"], 8.25);
    assert_eq!(tax["rate"]["tax_type"], "sales_tax");
    assert_eq!(tax["rate"]["state"], "TX");

    let pi = &s["payment_intent"];
    assert_eq!(pi["object"], "payment_intent");
    assert_eq!(pi["status"], "succeeded");
    assert_eq!(pi["amount_received"], 3748);
    assert_eq!(
        pi["agent_details"],
        json!({"agent_name": "ChatGPT", "agent_id": "agt_123"})
    );
    let charge = &pi["latest_charge"];
    assert_eq!(charge["object"], "charge");
    assert_eq!(charge["captured"], true);
    assert_eq!(charge["amount_captured"], 3748);
    let card = &charge["payment_method_details"]["card"];
    assert_eq!(
        (
            card["brand"].as_str(),
            card["last4"].as_str(),
            card["exp_month"].as_u64(),
            card["exp_year"].as_u64()
        ),
        (Some("mastercard"), Some("4444"), Some(3), Some(2031))
    );
    assert!(
        charge["receipt_number"]
            .as_str()
            .is_some_and(|r| r.len() == 9 && r.as_bytes()[4] == b'-')
    );
    assert_eq!(charge["billing_details"]["name"], "Jenny Rosen");

    // Taxes stay out unless asked for; the product stays an id unless asked for.
    let resp = env
        .get(&format!("/v1/checkout/sessions/{id}"), Some(ACCT))
        .query(&[("expand[]", "line_items")])
        .send()
        .await
        .expect("send");
    let (_, _, s) = body(resp).await;
    assert!(s["line_items"]["data"][0].get("taxes").is_none());
    assert!(
        s["line_items"]["data"][0]["price"]["product"]
            .as_str()
            .is_some_and(|p| p.starts_with("prod_"))
    );
    assert!(s["payment_intent"].is_string());
}

#[tokio::test]
async fn unsupported_expansions_and_parameters_are_400() {
    let env = Env::start().await;
    let id = session_id(&env.purchase(json!({})).await);
    let path = format!("/v1/checkout/sessions/{id}");
    let resp = env
        .get(&path, Some(ACCT))
        .query(&[("expand[]", "payment_intent"), ("expand[]", "customer")])
        .send()
        .await
        .expect("send");
    let (status, _, v) = body(resp).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["param"], "expand[1]");
    assert_eq!(
        v["error"]["message"],
        "This property cannot be expanded (customer)."
    );

    let resp = env
        .get(&path, Some(ACCT))
        .query(&[("expnd[]", "x")])
        .send()
        .await
        .expect("send");
    let (status, _, v) = body(resp).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "parameter_unknown");

    let resp = env.get("/v1/charges/", None).send().await.expect("send");
    assert_eq!(resp.status().as_u16(), 404);
    let v: Value = resp.json().await.expect("json");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Unrecognized request URL")
    );

    let resp = env
        .get("/v1/customers/cus_1", None)
        .send()
        .await
        .expect("send");
    let (status, _, v) = body(resp).await;
    assert_eq!(status, 404);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Unrecognized request URL (GET: /v1/customers/cus_1)")
    );
}

#[tokio::test]
async fn sessions_list_by_payment_intent() {
    let env = Env::start().await;
    let first = env.purchase(json!({})).await;
    env.purchase(json!({})).await;
    let pi = first["checkout_session"]["payment_intent"]["id"]
        .as_str()
        .expect("pi")
        .to_string();
    let resp = env
        .get("/v1/checkout/sessions", Some(ACCT))
        .query(&[
            ("payment_intent", pi.as_str()),
            ("expand[0]", "data.line_items"),
            ("limit", "5"),
        ])
        .send()
        .await
        .expect("send");
    let (status, _, list) = body(resp).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["object"], "list");
    assert_eq!(list["url"], "/v1/checkout/sessions");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["data"][0]["id"], first["checkout_session"]["id"]);
    assert_eq!(list["data"][0]["line_items"]["data"][0]["quantity"], 2);

    let resp = env
        .get("/v1/checkout/sessions", Some(ACCT))
        .query(&[("limit", "1")])
        .send()
        .await
        .expect("send");
    let (_, _, page) = body(resp).await;
    assert_eq!(page["has_more"], true);
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));

    let resp = env
        .get("/v1/checkout/sessions", Some(ACCT))
        .query(&[("expand[]", "line_items")])
        .send()
        .await
        .expect("send");
    let (status, _, v) = body(resp).await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("'data.line_items'")
    );
}

/// `GET /v1/payment_intents`: the list the SDKs' `payment_intents.list` and its
/// auto-pagination read (found missing by the SDK conformance run, local/conformance/).
#[tokio::test]
async fn payment_intents_list_pages_newest_first() {
    let env = Env::start().await;
    let mut made = Vec::new();
    for _ in 0..3 {
        let purchase = env.purchase(json!({})).await;
        made.push(purchase["checkout_session"]["payment_intent"]["id"].clone());
    }
    made.reverse();
    let page = |query: Vec<(&'static str, String)>| {
        let req = env.get("/v1/payment_intents", Some(ACCT)).query(&query);
        async move { body(req.send().await.expect("send")).await }
    };
    let (status, _, first) = page(vec![
        ("limit", "2".into()),
        ("expand[]", "data.latest_charge".into()),
    ])
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["object"], "list");
    assert_eq!(first["url"], "/v1/payment_intents");
    assert_eq!(first["has_more"], true);
    let ids: Vec<Value> = first["data"]
        .as_array()
        .map(|d| d.iter().map(|pi| pi["id"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(ids, made[..2].to_vec());
    assert_eq!(first["data"][0]["latest_charge"]["object"], "charge");
    let last = made[1].as_str().unwrap_or("").to_string();
    let (_, _, rest) = page(vec![("starting_after", last)]).await;
    assert_eq!(rest["has_more"], false);
    assert_eq!(rest["data"][0]["id"], made[2]);
    let newest = made[0].as_str().unwrap_or("").to_string();
    let (_, _, before) = page(vec![(
        "ending_before",
        made[2].as_str().unwrap_or("").into(),
    )])
    .await;
    assert_eq!(before["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(before["data"][0]["id"], json!(newest));

    // Another account sees none of them; filters that are not emulated are refused.
    let resp = env
        .get("/v1/payment_intents", None)
        .send()
        .await
        .expect("send");
    let (_, _, platform) = body(resp).await;
    assert_eq!(platform["data"], json!([]));
    let (status, _, v) = page(vec![("customer", "cus_1".into())]).await;
    assert_eq!(status, 400, "{v}");
    let (status, _, v) = page(vec![("expand[]", "latest_charge".into())]).await;
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("'data.latest_charge'")
    );
}

#[tokio::test]
async fn manual_capture_flow() {
    let env = Env::start().await;
    let purchase = env.purchase(json!({"capture_method": "manual"})).await;
    let s = &purchase["checkout_session"];
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(s["payment_intent"]["status"], "requires_capture");
    assert_eq!(s["payment_intent"]["amount_capturable"], 3748);
    assert_eq!(s["payment_intent"]["latest_charge"]["captured"], false);
    // Manual capture emits only the completion; payment_intent.succeeded waits for capture.
    assert_eq!(purchase["events"].as_array().map(Vec::len), Some(1));
    let pi = s["payment_intent"]["id"].as_str().expect("pi").to_string();
    let capture = format!("/v1/payment_intents/{pi}/capture");

    let (status, _, v) = body(
        env.post("/v1/refunds", Some(ACCT))
            .form(&[("payment_intent", pi.as_str())])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400, "uncaptured charges cannot be refunded: {v}");

    let (status, _, v) = body(
        env.post(&capture, Some(ACCT))
            .form(&[("amount_to_capture", "9999")])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "amount_too_large");

    let resp = env
        .post(&capture, Some(ACCT))
        .header("Idempotency-Key", "cap-1")
        .form(&[("expand[]", "latest_charge")])
        .send()
        .await
        .expect("send");
    let (status, headers, v) = body(resp).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "succeeded");
    assert_eq!(v["amount_received"], 3748);
    assert_eq!(v["amount_capturable"], 0);
    assert_eq!(v["latest_charge"]["captured"], true);
    assert_eq!(v["latest_charge"]["amount_captured"], 3748);
    let request_id = headers
        .get("request-id")
        .and_then(|h| h.to_str().ok())
        .expect("request id")
        .to_string();

    let (status, _, v) = body(env.post(&capture, Some(ACCT)).send().await.expect("send")).await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "payment_intent_unexpected_state");
    assert_eq!(v["error"]["payment_intent"]["status"], "succeeded");

    let session = s["id"].as_str().expect("id");
    let (_, _, v) = body(
        env.get(&format!("/v1/checkout/sessions/{session}"), Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(v["payment_status"], "paid");

    let events = env.events().await;
    let succeeded: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"]["type"] == "payment_intent.succeeded")
        .collect();
    assert_eq!(succeeded.len(), 1);
    let event = &succeeded[0]["event"];
    assert_eq!(event["data"]["object"]["id"], json!(pi));
    assert_eq!(
        event["request"],
        json!({"id": request_id, "idempotency_key": "cap-1"})
    );
    assert_eq!(event["account"], ACCT);
}

#[tokio::test]
async fn refund_rules() {
    let env = Env::start().await;
    let purchase = env.purchase(json!({})).await;
    let pi = purchase["checkout_session"]["payment_intent"]["id"]
        .as_str()
        .expect("pi")
        .to_string();
    let charge = purchase["checkout_session"]["payment_intent"]["latest_charge"]["id"]
        .as_str()
        .expect("ch")
        .to_string();

    let partial = [
        ("payment_intent", pi.as_str()),
        ("amount", "1000"),
        ("reason", "requested_by_customer"),
        ("metadata[order]", "A-1"),
    ];
    let (status, _, refund) = body(
        env.post("/v1/refunds", Some(ACCT))
            .form(&partial)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200, "{refund}");
    assert!(
        refund["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("re_"))
    );
    assert_eq!(refund["object"], "refund");
    assert_eq!(refund["amount"], 1000);
    assert_eq!(refund["charge"], json!(charge));
    assert_eq!(refund["payment_intent"], json!(pi));
    assert_eq!(refund["status"], "succeeded");
    assert_eq!(refund["reason"], "requested_by_customer");
    assert_eq!(refund["metadata"], json!({"order": "A-1"}));

    let (_, _, ch) = body(
        env.get(&format!("/v1/charges/{charge}"), Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (ch["amount_refunded"].as_i64(), ch["refunded"].as_bool()),
        (Some(1000), Some(false))
    );

    let (status, _, v) = body(
        env.post("/v1/refunds", Some(ACCT))
            .form(&[("charge", charge.as_str()), ("amount", "2749")])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "amount_too_large");
    assert_eq!(v["error"]["param"], "amount");

    // The default amount is whatever is left.
    let (status, _, rest) = body(
        env.post("/v1/refunds", Some(ACCT))
            .form(&[("charge", charge.as_str())])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(rest["amount"], 2748);
    let (_, _, ch) = body(
        env.get(&format!("/v1/charges/{charge}"), Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        (ch["amount_refunded"].as_i64(), ch["refunded"].as_bool()),
        (Some(3748), Some(true))
    );

    let (status, _, v) = body(
        env.post("/v1/refunds", Some(ACCT))
            .form(&[("payment_intent", pi.as_str())])
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(v["error"]["code"], "charge_already_refunded");

    let refund_id = refund["id"].as_str().expect("id");
    let (status, _, got) = body(
        env.get(&format!("/v1/refunds/{refund_id}"), Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got, refund);
    let (status, _, _) = body(
        env.get(&format!("/v1/refunds/{refund_id}"), None)
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 404);

    let events = env.events().await;
    let types: Vec<&str> = events
        .iter()
        .filter_map(|e| e["event"]["type"].as_str())
        .collect();
    assert_eq!(
        types,
        [
            "checkout.session.completed",
            "payment_intent.succeeded",
            "charge.refunded",
            "refund.created",
            "charge.refunded",
            "refund.created"
        ]
    );
    assert_eq!(events[2]["event"]["data"]["object"]["object"], "charge");
    assert_eq!(
        events[2]["event"]["data"]["object"]["amount_refunded"],
        1000
    );
    assert_eq!(events[3]["event"]["data"]["object"]["id"], refund["id"]);
}

#[tokio::test]
async fn refund_parameter_errors() {
    let env = Env::start().await;
    let purchase = env.purchase(json!({})).await;
    let charge = purchase["checkout_session"]["payment_intent"]["latest_charge"]["id"]
        .as_str()
        .expect("ch")
        .to_string();
    // (form, expected status, expected error param)
    type Case<'a> = (Vec<(&'a str, &'a str)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (vec![], 400, "charge"),
        (
            vec![("charge", charge.as_str()), ("amount", "0")],
            400,
            "amount",
        ),
        (
            vec![("charge", charge.as_str()), ("amount", "ten")],
            400,
            "amount",
        ),
        (
            vec![("charge", charge.as_str()), ("reason", "bored")],
            400,
            "reason",
        ),
        (vec![("charge", "ch_missing")], 404, "charge"),
        (
            vec![("payment_intent", "pi_missing")],
            404,
            "payment_intent",
        ),
    ];
    for (form, expected, param) in cases {
        let (status, _, v) = body(
            env.post("/v1/refunds", Some(ACCT))
                .form(&form)
                .send()
                .await
                .expect("send"),
        )
        .await;
        assert_eq!(status, expected, "{form:?}: {v}");
        assert_eq!(v["error"]["param"], param, "{form:?}");
    }
    // Malformed bracket syntax is a 400, not a crash.
    let resp = env
        .post("/v1/refunds", Some(ACCT))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("metadata[a=1")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 400);
}
