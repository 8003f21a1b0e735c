//! Checkout hooks: an in-test axum server plays the platform's customize_checkout and
//! finalize_checkout; the emulator calls it during `/_sim/agentic_checkouts`.

use crate::common::{ACCT, Env, Hit, Receiver, body};
use crate::webhooks::verify;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stripe_sim::{HooksConfig, SimConfig};

const HOOK_SECRET: &str = "whsec_test_hooks_platform";

/// How the platform answers one hook: status and raw body, computed from the request.
type Answer = Arc<dyn Fn(&Value) -> (u16, String) + Send + Sync>;

fn answer_json(status: u16, value: Value) -> Answer {
    Arc::new(move |_| (status, value.to_string()))
}

fn answer_with(f: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Answer {
    Arc::new(move |request| (200, f(request).to_string()))
}

#[derive(Clone)]
struct Script {
    answer: Answer,
    delay_ms: u64,
}

#[derive(Clone)]
struct PlatformState {
    hits: Arc<Mutex<Vec<(String, Hit)>>>,
    customize: Arc<Mutex<Script>>,
    finalize: Arc<Mutex<Script>>,
}

/// The platform's two hook endpoints, recording every request.
struct Platform {
    base: String,
    state: PlatformState,
}

impl Platform {
    async fn start() -> Self {
        let empty = Script {
            answer: answer_json(200, json!({})),
            delay_ms: 0,
        };
        let state = PlatformState {
            hits: Arc::default(),
            customize: Arc::new(Mutex::new(empty.clone())),
            finalize: Arc::new(Mutex::new(empty)),
        };
        let app = axum::Router::new()
            .route("/customize", post(customize))
            .route("/finalize", post(finalize))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind platform");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, state }
    }

    fn customize_url(&self) -> String {
        format!("{}/customize", self.base)
    }

    fn finalize_url(&self) -> String {
        format!("{}/finalize", self.base)
    }

    fn config(&self) -> SimConfig {
        SimConfig {
            hooks: Some(HooksConfig {
                customize_url: Some(self.customize_url()),
                finalize_url: Some(self.finalize_url()),
                secret: HOOK_SECRET.into(),
                ..HooksConfig::default()
            }),
            ..SimConfig::default()
        }
    }

    fn on_customize(&self, answer: Answer, delay_ms: u64) {
        *self.state.customize.lock().expect("lock") = Script { answer, delay_ms };
    }

    fn on_finalize(&self, answer: Answer, delay_ms: u64) {
        *self.state.finalize.lock().expect("lock") = Script { answer, delay_ms };
    }

    /// Requests received at `path` ("/customize" or "/finalize").
    fn hits(&self, path: &str) -> Vec<Hit> {
        self.state
            .hits
            .lock()
            .expect("lock")
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, h)| h.clone())
            .collect()
    }

    fn count(&self) -> usize {
        self.state.hits.lock().expect("lock").len()
    }
}

async fn play(
    state: &PlatformState,
    path: &str,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], String) {
    let script = if path == "/customize" {
        state.customize.lock().expect("lock").clone()
    } else {
        state.finalize.lock().expect("lock").clone()
    };
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    state
        .hits
        .lock()
        .expect("lock")
        .push((path.to_string(), Hit { headers, body }));
    if script.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(script.delay_ms)).await;
    }
    let (status, text) = (script.answer)(&request);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        [(header::CONTENT_TYPE, "application/json")],
        text,
    )
}

async fn customize(
    State(state): State<PlatformState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], String) {
    play(&state, "/customize", headers, body).await
}

async fn finalize(
    State(state): State<PlatformState>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], String) {
    play(&state, "/finalize", headers, body).await
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    keys.sort();
    keys
}

fn sorted(keys: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    keys.sort();
    keys
}

/// Two lines: 2 × 1500 of A and 1 × 1200 of B, no taxes given, shipping to Austin.
fn two_lines(extra: Value) -> Value {
    let mut body = json!({
        "account": ACCT,
        "currency": "usd",
        "line_items": [
            {"sku": "SKU-A", "quantity": 2, "unit_amount": 1500, "product": {"name": "Trail shoe"}},
            {"sku": "SKU-B", "quantity": 1, "unit_amount": 1200, "product": {"name": "Sock"}}
        ],
        "shipping_address": {"line1": "1 Main St", "line2": "Apt 2", "city": "Austin", "state": "TX", "postal_code": "78701", "country": "US"},
    });
    if let (Some(base), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            base.insert(k.clone(), v.clone());
        }
    }
    body
}

async fn hook_calls(env: &Env) -> Vec<Value> {
    env.http
        .get(env.url("/_sim/hook_calls"))
        .send()
        .await
        .expect("hook calls")
        .json()
        .await
        .expect("json")
}

fn line_ids(request: &Value, field: &str) -> Vec<String> {
    request["data"][field]
        .as_array()
        .expect("line details")
        .iter()
        .map(|l| l["id"].as_str().expect("line id").to_string())
        .collect()
}

#[tokio::test]
async fn hook_requests_are_signed_and_have_the_documented_shapes() {
    let platform = Platform::start().await;
    let env = Env::with(platform.config()).await;
    let purchase = env
        .control(
            "/_sim/agentic_checkouts",
            two_lines(json!({
                "automatic_tax": true,
                "email": "buyer@example.com",
                "phone": "+15125550100",
                "card": {"brand": "visa", "last4": "4242", "funding": "debit", "iin": "400005"},
            })),
        )
        .await;
    let session = &purchase["checkout_session"];
    let session_id = session["id"].as_str().expect("id");

    let customize_hits = platform.hits("/customize");
    let finalize_hits = platform.hits("/finalize");
    assert_eq!((customize_hits.len(), finalize_hits.len()), (1, 1));
    for hit in customize_hits.iter().chain(&finalize_hits) {
        assert!(verify(hit, HOOK_SECRET), "signed with the hooks secret");
        assert!(
            !verify(hit, "whsec_test_sim"),
            "not with the webhook secret"
        );
        assert_eq!(
            hit.headers
                .get("content-type")
                .and_then(|h| h.to_str().ok()),
            Some("application/json")
        );
        let reserialised = Hit {
            headers: hit.headers.clone(),
            body: serde_json::to_vec(&hit.json()).expect("json").into(),
        };
        assert!(
            !verify(&reserialised, HOOK_SECRET),
            "signature covers the bytes"
        );
    }

    let c = customize_hits[0].json();
    assert_eq!(
        keys(&c),
        sorted(&["type", "id", "livemode", "context", "data"])
    );
    assert_eq!(c["type"], "v1.delegated_checkout.customize_checkout");
    assert!(
        c["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("dchk_req_"))
    );
    assert_eq!(c["livemode"], false);
    assert_eq!(c["context"], ACCT);
    let d = &c["data"];
    assert_eq!(
        keys(d),
        sorted(&[
            "automatic_tax",
            "currency",
            "line_item_details",
            "shipping_details",
            "amount_total",
            "amount_subtotal",
            "total_details",
            "checkout_session"
        ])
    );
    assert_eq!(d["automatic_tax"], json!({"enabled": true}));
    assert_eq!(d["currency"], "usd");
    assert_eq!(d["checkout_session"], session_id);
    assert_eq!(
        d["shipping_details"],
        json!({"address": {"line1": "1 Main St", "line2": "Apt 2", "city": "Austin", "state": "TX", "postal_code": "78701", "country": "US"}})
    );
    assert_eq!(
        (d["amount_subtotal"].as_i64(), d["amount_total"].as_i64()),
        (Some(4200), Some(4200))
    );
    assert_eq!(
        d["total_details"],
        json!({"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0})
    );
    let line = &d["line_item_details"][0];
    assert_eq!(
        keys(line),
        sorted(&[
            "id",
            "sku_id",
            "unit_amount",
            "amount_discount",
            "amount_subtotal",
            "amount_tax",
            "amount_total",
            "quantity",
            "name",
            "tax_rates"
        ])
    );
    assert!(line["id"].as_str().is_some_and(|id| id.starts_with("li_")));
    assert_eq!(line["sku_id"], "SKU-A");
    assert_eq!(line["name"], "Trail shoe");
    assert_eq!(
        (
            line["unit_amount"].as_i64(),
            line["quantity"].as_i64(),
            line["amount_subtotal"].as_i64(),
            line["amount_total"].as_i64()
        ),
        (Some(1500), Some(2), Some(3000), Some(3000))
    );
    assert_eq!(line["tax_rates"], json!([]));
    assert_eq!(d["line_item_details"][1]["sku_id"], "SKU-B");

    let f = finalize_hits[0].json();
    assert_eq!(f["type"], "v1.delegated_checkout.finalize_checkout");
    assert!(
        f["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("dchk_req_"))
    );
    assert_ne!(f["id"], c["id"], "each hook request has its own id");
    assert_eq!(f["context"], ACCT);
    let d = &f["data"];
    assert!(
        d.get("line_item_details").is_none(),
        "finalize uses the plural"
    );
    assert!(
        d.get("checkout_session").is_none(),
        "Stripe's documented finalize payload names no session"
    );
    assert_eq!(
        line_ids(&f, "line_items_details"),
        line_ids(&c, "line_item_details")
    );
    assert_eq!(
        keys(&d["line_items_details"][0]),
        keys(&c["data"]["line_item_details"][0])
    );
    assert_eq!(
        d["payment_method_details"],
        json!({"type": "card", "card": {
            "brand": "visa", "country": "US", "exp_month": 12, "exp_year": 2034,
            "fingerprint": session["payment_intent"]["latest_charge"]["payment_method_details"]["card"]["fingerprint"],
            "funding": "debit", "iin": "400005", "last4": "4242", "wallet": null
        }})
    );
    assert_eq!(d["email"], "buyer@example.com");
    assert_eq!(d["phone"], "+15125550100");
    assert_eq!(d["shipping_details"]["address"]["city"], "Austin");
    assert_eq!(d["shipping_details"]["name"], "Jenny Rosen");
    assert_eq!(d["billing_details"]["name"], "Jenny Rosen");
    assert_eq!(d["billing_details"]["address"]["postal_code"], "78701");
    assert_eq!(d["amount_total"], 4200);
    assert_eq!(d["total_details"]["amount_shipping"], 0);

    // Empty answers change nothing; the session records what the hooks were told.
    assert_eq!(session["status"], "complete");
    assert_eq!(session["amount_total"], 4200);
    assert_eq!(session["automatic_tax"]["enabled"], true);
    assert_eq!(session["shipping_cost"], Value::Null);
    assert_eq!(session["customer_details"]["email"], "buyer@example.com");
    assert_eq!(
        session["collected_information"]["shipping_details"]["address"]["line2"],
        "Apt 2"
    );
    let charge = &session["payment_intent"]["latest_charge"];
    assert_eq!(charge["payment_method_details"]["card"]["funding"], "debit");
    assert_eq!(charge["payment_method_details"]["card"]["iin"], "400005");
    assert_eq!(charge["application_fee"], Value::Null);
    assert_eq!(
        session["payment_intent"]["application_fee_amount"],
        Value::Null
    );

    let calls = hook_calls(&env).await;
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["hook"], "customize_checkout");
    assert_eq!(calls[1]["hook"], "finalize_checkout");
    assert_eq!(
        calls[0]["request"], c,
        "the recorded request is what was sent"
    );
    assert_eq!(calls[1]["request"], f);
    for call in &calls {
        assert_eq!(call["status"], 200);
        assert_eq!(call["response"], json!({}));
        assert!(call["elapsed_ms"].is_u64());
        assert_eq!(call["checkout_session"], session_id);
        assert!(call.get("error").is_none());
    }
}

/// Offers Express 1500 and Ground 500 and taxes line 0 at 8.25 % exclusive, line 1 at
/// 20 % inclusive.
fn shipping_and_taxes(request: &Value) -> Value {
    let ids = line_ids(request, "line_item_details");
    json!({
        "shipping_options": [
            {"shipping_rate_data": {"display_name": "Express", "fixed_amount": {"amount": 1500, "currency": "usd"}, "delivery_estimate": {"minimum": {"unit": "business_day", "value": 1}, "maximum": {"unit": "business_day", "value": 2}}}},
            {"shipping_rate_data": {"display_name": "Ground", "fixed_amount": {"amount": 500, "currency": "usd"}, "tax_behavior": "exclusive", "metadata": {"service": "ground"}}}
        ],
        "line_items": [
            {"id": ids[0], "tax_rates": [{"rate_data": {"display_name": "Sales tax", "inclusive": false, "percentage": 8.25}}]},
            {"id": ids[1], "tax_rates": [{"rate_data": {"display_name": "VAT", "inclusive": true, "percentage": 20.0}}]}
        ]
    })
}

#[tokio::test]
async fn shipping_and_tax_answers_change_the_session() {
    let platform = Platform::start().await;
    platform.on_customize(answer_with(shipping_and_taxes), 0);
    let env = Env::with(platform.config()).await;
    let purchase = env
        .control("/_sim/agentic_checkouts", two_lines(json!({})))
        .await;
    let s = &purchase["checkout_session"];
    // 3000 + 248 (8.25 % of 3000, half up) + 1200 (incl. 200 VAT) + 500 Ground = 4948.
    assert_eq!(s["amount_subtotal"], 4200);
    assert_eq!(s["amount_total"], 4948);
    assert_eq!(
        s["total_details"],
        json!({"amount_discount": 0, "amount_shipping": 500, "amount_tax": 448})
    );
    assert_eq!(s["shipping_cost"]["amount_total"], 500);
    let ground = s["shipping_cost"]["shipping_rate"].as_str().expect("rate");
    assert!(ground.starts_with("shr_"));
    let options = s["shipping_options"].as_array().expect("options");
    assert_eq!(options.len(), 2);
    assert_eq!(options[0]["shipping_amount"], 1500);
    assert_eq!(options[1]["shipping_rate"], ground);
    assert_eq!(s["payment_intent"]["amount"], 4948);
    assert_eq!(s["payment_intent"]["latest_charge"]["amount"], 4948);

    let lines = s["line_items"]["data"].as_array().expect("lines");
    assert_eq!(lines[0]["amount_tax"], 248);
    assert_eq!(lines[0]["amount_total"], 3248);
    let tax = &lines[0]["taxes"][0];
    assert_eq!(tax["amount"], 248);
    assert_eq!(tax["taxable_amount"], 3000);
    assert!(
        tax["rate"]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("txr_"))
    );
    assert_eq!(tax["rate"]["object"], "tax_rate");
    assert_eq!(tax["rate"]["percentage"], 8.25);
    assert_eq!(tax["rate"]["inclusive"], false);
    assert_eq!(tax["rate"]["tax_type"], "sales_tax");
    assert_eq!(
        tax["rate"]["state"], "TX",
        "defaults to the shipping address"
    );
    assert_eq!(lines[0]["price"]["tax_behavior"], "exclusive");
    assert_eq!(lines[1]["amount_tax"], 200);
    assert_eq!(lines[1]["amount_total"], 1200, "inclusive tax is not added");
    assert_eq!(lines[1]["taxes"][0]["taxable_amount"], 1000);
    assert_eq!(lines[1]["taxes"][0]["rate"]["tax_type"], "vat");
    assert_eq!(lines[1]["price"]["tax_behavior"], "inclusive");

    // The same expansion through the API, as the order pipeline fetches it.
    let (status, _, fetched) = body(
        env.get(
            &format!(
                "/v1/checkout/sessions/{}?expand[]=line_items.data.taxes",
                s["id"].as_str().expect("id")
            ),
            Some(ACCT),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fetched["line_items"]["data"][0]["taxes"][0]["amount"], 248);
    assert_eq!(fetched["amount_total"], 4948);

    // finalize_checkout sees the customized checkout.
    let f = platform.hits("/finalize")[0].json();
    let d = &f["data"];
    assert_eq!(d["amount_total"], 4948);
    assert_eq!(
        d["total_details"],
        json!({"amount_discount": 0, "amount_shipping": 500, "amount_tax": 448})
    );
    let line = &d["line_items_details"][0];
    assert_eq!(line["amount_tax"], 248);
    assert_eq!(line["amount_total"], 3248);
    assert_eq!(
        line["tax_rates"],
        json!([{"rate": {"id": tax["rate"]["id"], "display_name": "Sales tax", "percentage": 8.25, "inclusive": false}, "amount": 248}])
    );

    // The agent may pick another option by name; an option not offered is refused.
    let express = env
        .control(
            "/_sim/agentic_checkouts",
            two_lines(json!({"choose_shipping": "Express"})),
        )
        .await;
    assert_eq!(express["checkout_session"]["amount_total"], 5948);
    assert_eq!(
        express["checkout_session"]["total_details"]["amount_shipping"],
        1500
    );
    let (status, v) = env
        .control_raw(
            "/_sim/agentic_checkouts",
            two_lines(json!({"choose_shipping": "Teleport"})),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["param"], "choose_shipping");
}

#[tokio::test]
async fn seeded_rates_can_be_named_and_unknown_ones_fail_with_424() {
    let platform = Platform::start().await;
    let env = Env::with(platform.config()).await;
    let shr = env
        .control(
            "/_sim/shipping_rates",
            json!({"account": ACCT, "id": "shr_1Standard", "display_name": "Standard", "fixed_amount": {"amount": 700, "currency": "usd"}}),
        )
        .await;
    assert_eq!(shr["id"], "shr_1Standard");
    assert_eq!(shr["type"], "fixed_amount");
    let txr = env
        .control(
            "/_sim/tax_rates",
            json!({"account": ACCT, "id": "txr_1Texas", "display_name": "Texas sales tax", "percentage": 6.25, "inclusive": false, "state": "TX", "country": "US"}),
        )
        .await;
    assert_eq!(txr["id"], "txr_1Texas");
    platform.on_customize(
        answer_with(|request| {
            let ids = line_ids(request, "line_item_details");
            json!({
                "shipping_options": [{"shipping_rate": "shr_1Standard"}],
                "line_items": [{"id": ids[0], "tax_rates": [{"rate": "txr_1Texas"}]}]
            })
        }),
        0,
    );
    let purchase = env
        .control("/_sim/agentic_checkouts", two_lines(json!({})))
        .await;
    let s = &purchase["checkout_session"];
    // 3000 + 188 (6.25 % of 3000 = 187.5, half up) + 1200 + 700.
    assert_eq!(s["amount_total"], 5088);
    assert_eq!(s["shipping_cost"]["shipping_rate"], "shr_1Standard");
    assert_eq!(
        s["line_items"]["data"][0]["taxes"][0]["rate"]["id"],
        "txr_1Texas"
    );
    assert_eq!(s["line_items"]["data"][1]["taxes"], json!([]));

    // Another account cannot see these rates: the answer is unusable.
    let (status, v) = env
        .control_raw(
            "/_sim/agentic_checkouts",
            two_lines(json!({"account": "acct_1OtherMerchant"})),
        )
        .await;
    assert_eq!(status, 424, "{v}");
    assert_eq!(v["error"]["code"], "hook_failed");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("shr_1Standard")),
        "{v}"
    );
}

#[tokio::test]
async fn approval_records_the_application_fee_on_intent_and_charge() {
    let receiver = Receiver::start(&[]).await;
    let platform = Platform::start().await;
    platform.on_finalize(
        answer_json(
            200,
            json!({
                "manual_approval_details": {"type": "approved"},
                "application_fee_details": {"application_fee_amount": 126, "transfer_data": {"amount": 4074}}
            }),
        ),
        0,
    );
    let env = Env::with(SimConfig {
        webhook_url: Some(receiver.url.clone()),
        ..platform.config()
    })
    .await;
    let purchase = env
        .control(
            "/_sim/agentic_checkouts",
            two_lines(json!({"wait_for_delivery": true})),
        )
        .await;
    let s = &purchase["checkout_session"];
    assert_eq!(s["status"], "complete");
    assert_eq!(s["payment_status"], "paid");
    let pi_id = s["payment_intent"]["id"].as_str().expect("pi");
    let (status, _, pi) = body(
        env.get(
            &format!("/v1/payment_intents/{pi_id}?expand[]=latest_charge"),
            Some(ACCT),
        )
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(pi["application_fee_amount"], 126);
    assert_eq!(
        pi["transfer_data"],
        json!({"amount": 4074, "destination": ACCT})
    );
    let charge = &pi["latest_charge"];
    assert_eq!(charge["application_fee_amount"], 126);
    assert!(
        charge["application_fee"]
            .as_str()
            .is_some_and(|id| id.starts_with("fee_"))
    );
    let types: Vec<String> = receiver
        .hits()
        .iter()
        .map(|h| h.json()["type"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        types,
        ["checkout.session.completed", "payment_intent.succeeded"]
    );
}

#[tokio::test]
async fn a_decline_aborts_the_checkout_with_402_and_expires_the_session() {
    let receiver = Receiver::start(&[]).await;
    let platform = Platform::start().await;
    platform.on_finalize(
        answer_json(
            200,
            json!({"manual_approval_details": {"type": "declined", "declined": {"reason": "SKU-A is out of stock."}}}),
        ),
        0,
    );
    let env = Env::with(SimConfig {
        webhook_url: Some(receiver.url.clone()),
        ..platform.config()
    })
    .await;
    let ids = json!({"checkout_session": "cs_test_a1Declined", "payment_intent": "pi_3Declined", "charge": "ch_3Declined"});
    let (status, v) = env
        .control_raw(
            "/_sim/agentic_checkouts",
            two_lines(json!({"ids": ids, "wait_for_delivery": true})),
        )
        .await;
    assert_eq!(status, 402, "{v}");
    assert_eq!(v["error"]["type"], "card_error");
    assert_eq!(v["error"]["code"], "checkout_declined");
    assert_eq!(v["error"]["message"], "SKU-A is out of stock.");
    let s = &v["checkout_session"];
    assert_eq!(s["id"], "cs_test_a1Declined");
    assert_eq!(s["status"], "expired");
    assert_eq!(s["payment_status"], "unpaid");
    assert_eq!(s["payment_intent"], Value::Null);
    assert_eq!(s["line_items"]["data"].as_array().map(Vec::len), Some(2));

    let hits = receiver.hits();
    assert_eq!(hits.len(), 1);
    let event = hits[0].json();
    assert_eq!(event["type"], "checkout.session.expired");
    assert_eq!(event["account"], ACCT);
    assert_eq!(event["data"]["object"]["id"], "cs_test_a1Declined");
    assert!(verify(&hits[0], "whsec_test_sim"));
    assert_eq!(v["events"], json!([event["id"]]));

    let (status, _, fetched) = body(
        env.get("/v1/checkout/sessions/cs_test_a1Declined", Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((status, fetched["status"].clone()), (200, json!("expired")));
    let (status, _, _) = body(
        env.get("/v1/payment_intents/pi_3Declined", Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 404, "no payment was made");
    let (status, _, _) = body(
        env.get("/v1/charges/ch_3Declined", Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn finalize_errors_timeouts_and_malformed_answers_decline_with_hook_failed() {
    let platform = Platform::start().await;
    let env = Env::with(platform.config()).await;

    platform.on_finalize(answer_json(500, json!({"error": "boom"})), 0);
    let (status, v) = env
        .control_raw("/_sim/agentic_checkouts", two_lines(json!({})))
        .await;
    assert_eq!(status, 402, "{v}");
    assert_eq!(v["error"]["type"], "card_error");
    assert_eq!(v["error"]["code"], "hook_failed");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("500"))
    );
    assert_eq!(v["checkout_session"]["status"], "expired");
    let calls = hook_calls(&env).await;
    assert_eq!(calls[1]["status"], 500);
    assert_eq!(calls[1]["response"], json!({"error": "boom"}));

    for bad in [
        json!({"manual_approval_details": {"type": "maybe"}}),
        json!({"application_fee_details": {"application_fee_amount": 999_999}}),
        json!({"approve": true}),
        json!("yes"),
    ] {
        platform.on_finalize(answer_json(200, bad.clone()), 0);
        let (status, v) = env
            .control_raw("/_sim/agentic_checkouts", two_lines(json!({})))
            .await;
        assert_eq!(
            (status, v["error"]["code"].clone()),
            (402, json!("hook_failed")),
            "{bad}: {v}"
        );
    }
    platform.on_finalize(Arc::new(|_| (200, "not json".to_string())), 0);
    let (status, v) = env
        .control_raw("/_sim/agentic_checkouts", two_lines(json!({})))
        .await;
    assert_eq!(
        (status, v["error"]["code"].clone()),
        (402, json!("hook_failed"))
    );

    // A slow platform: Stripe declines at the deadline.
    let set = env.control("/_sim/hooks", json!({"timeout_ms": 150})).await;
    assert_eq!(set["timeout_ms"], 150);
    platform.on_finalize(answer_json(200, json!({})), 2000);
    let started = std::time::Instant::now();
    let (status, v) = env
        .control_raw("/_sim/agentic_checkouts", two_lines(json!({})))
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "did not wait for the platform"
    );
    assert_eq!(status, 402, "{v}");
    assert_eq!(v["error"]["code"], "hook_failed");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("did not answer within 150 ms")),
        "{v}"
    );
    let calls = hook_calls(&env).await;
    let last = calls.last().expect("call");
    assert_eq!(last["hook"], "finalize_checkout");
    assert_eq!(last["status"], Value::Null);
    assert_eq!(last["response"], Value::Null);
    let elapsed = last["elapsed_ms"].as_u64().expect("elapsed");
    assert!((150..1500).contains(&elapsed), "{elapsed}");
}

#[tokio::test]
async fn a_failed_customize_is_424_and_creates_nothing() {
    let receiver = Receiver::start(&[]).await;
    let platform = Platform::start().await;
    let env = Env::with(SimConfig {
        webhook_url: Some(receiver.url.clone()),
        ..platform.config()
    })
    .await;
    let unknown_line = answer_with(
        |_| json!({"line_items": [{"id": "li_1Nope", "tax_rates": [{"rate_data": {"display_name": "T", "inclusive": false, "percentage": 5}}]}]}),
    );
    let scripts: Vec<(Answer, u64)> = vec![
        (answer_json(500, json!({"error": "down"})), 0),
        (answer_json(404, json!({})), 0),
        (Arc::new(|_| (200, "<html>".to_string())), 0),
        (unknown_line, 0),
        (
            answer_json(
                200,
                json!({"shipping_options": [{"shipping_rate_data": {"display_name": "Euro", "fixed_amount": {"amount": 5, "currency": "eur"}}}]}),
            ),
            0,
        ),
        (
            answer_json(
                200,
                json!({"shipping_options": [{"shipping_rate": "shr_1Missing"}]}),
            ),
            0,
        ),
        (answer_json(200, json!({"line_items": [], "extra": 1})), 0),
        (answer_json(200, json!({})), 2000),
    ];
    env.control("/_sim/hooks", json!({"timeout_ms": 150})).await;
    let ids = json!({"checkout_session": "cs_test_a1Never", "payment_intent": "pi_3Never"});
    for (i, (answer, delay)) in scripts.into_iter().enumerate() {
        platform.on_customize(answer, delay);
        let (status, v) = env
            .control_raw(
                "/_sim/agentic_checkouts",
                two_lines(json!({"ids": ids, "wait_for_delivery": true})),
            )
            .await;
        assert_eq!(status, 424, "script {i}: {v}");
        assert_eq!(v["error"]["type"], "api_error", "script {i}");
        assert_eq!(v["error"]["code"], "hook_failed", "script {i}");
        assert!(v.get("checkout_session").is_none());
    }
    assert!(
        platform.hits("/finalize").is_empty(),
        "finalize is never reached"
    );
    assert!(env.events().await.is_empty(), "no events");
    assert!(receiver.hits().is_empty(), "no webhooks");
    let (status, _, _) = body(
        env.get("/v1/checkout/sessions/cs_test_a1Never", Some(ACCT))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, 404, "nothing created");
    // The seeded ids are still free: the same purchase succeeds once the platform answers.
    platform.on_customize(answer_json(200, json!({})), 0);
    let done = env
        .control("/_sim/agentic_checkouts", two_lines(json!({"ids": ids})))
        .await;
    assert_eq!(done["checkout_session"]["id"], "cs_test_a1Never");
}

#[tokio::test]
async fn replay_hooks_sends_each_request_twice_identically() {
    let platform = Platform::start().await;
    platform.on_customize(answer_with(shipping_and_taxes), 0);
    let env = Env::with(platform.config()).await;
    let purchase = env
        .control(
            "/_sim/agentic_checkouts",
            two_lines(json!({"replay_hooks": true})),
        )
        .await;
    assert_eq!(purchase["checkout_session"]["amount_total"], 4948);
    for path in ["/customize", "/finalize"] {
        let hits = platform.hits(path);
        assert_eq!(hits.len(), 2, "{path}");
        assert_eq!(hits[0].body, hits[1].body, "{path}: same bytes");
        assert_eq!(hits[0].json()["id"], hits[1].json()["id"]);
        for hit in &hits {
            assert!(verify(hit, HOOK_SECRET));
        }
    }
    let calls = hook_calls(&env).await;
    let hooks: Vec<&str> = calls.iter().filter_map(|c| c["hook"].as_str()).collect();
    assert_eq!(
        hooks,
        [
            "customize_checkout",
            "customize_checkout",
            "finalize_checkout",
            "finalize_checkout"
        ]
    );
    assert_eq!(calls[0]["request"], calls[1]["request"]);
    assert_eq!(calls[0]["response"], calls[1]["response"]);
    assert_eq!(calls[2]["request"], calls[3]["request"]);
}

#[tokio::test]
async fn hooks_are_configured_at_run_time_and_reset() {
    let platform = Platform::start().await;
    let env = Env::start().await;
    // Unset: no hook is called, today's behaviour.
    let plain = env
        .control("/_sim/agentic_checkouts", two_lines(json!({})))
        .await;
    assert_eq!(plain["checkout_session"]["amount_total"], 4200);
    assert_eq!(platform.count(), 0);
    assert!(hook_calls(&env).await.is_empty());

    let defaults: Value = env
        .http
        .get(env.url("/_sim/hooks"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(
        defaults,
        json!({"customize_url": null, "finalize_url": null, "secret": "whsec_test_hooks_sim", "timeout_ms": 4000, "finalize_sends_session": false})
    );
    let set = env
        .control(
            "/_sim/hooks",
            json!({"finalize_url": platform.finalize_url(), "secret": HOOK_SECRET}),
        )
        .await;
    assert_eq!(set["finalize_url"], platform.finalize_url());
    assert_eq!(set["customize_url"], Value::Null);
    env.control("/_sim/agentic_checkouts", two_lines(json!({})))
        .await;
    assert_eq!(
        platform.hits("/customize").len(),
        0,
        "customize unset: skipped"
    );
    let finalize = platform.hits("/finalize");
    assert_eq!(finalize.len(), 1);
    assert!(verify(&finalize[0], HOOK_SECRET));
    assert_eq!(hook_calls(&env).await.len(), 1);

    for bad in [
        json!({"finalize_url": "ftp://x"}),
        json!({"timeout_ms": 0}),
        json!({"secret": ""}),
        json!({"customise_url": null}),
        json!({"finalize_sends_session": "yes"}),
    ] {
        let (status, v) = env.control_raw("/_sim/hooks", bad.clone()).await;
        assert_eq!(status, 400, "{bad}: {v}");
    }
    env.control("/_sim/hooks", json!({"finalize_url": null}))
        .await;
    env.control("/_sim/agentic_checkouts", two_lines(json!({})))
        .await;
    assert_eq!(platform.hits("/finalize").len(), 1, "switched off again");

    env.control(
        "/_sim/hooks",
        json!({"finalize_url": platform.finalize_url()}),
    )
    .await;
    env.control("/_sim/reset", json!({})).await;
    assert!(hook_calls(&env).await.is_empty(), "reset clears the calls");
    env.control("/_sim/agentic_checkouts", two_lines(json!({})))
        .await;
    assert_eq!(
        platform.hits("/finalize").len(),
        1,
        "reset restores the configured (unset) hooks"
    );
}

#[tokio::test]
async fn finalize_names_its_session_only_when_asked() {
    let platform = Platform::start().await;
    let env = Env::with(platform.config()).await;
    env.control("/_sim/hooks", json!({"finalize_sends_session": true}))
        .await;
    let purchase = env
        .control("/_sim/agentic_checkouts", two_lines(json!({})))
        .await;
    let finalize = platform.hits("/finalize");
    let sent: Value = serde_json::from_slice(&finalize[0].body).unwrap();
    assert_eq!(
        sent["data"]["checkout_session"],
        purchase["checkout_session"]["id"]
    );
}
