//! Both checkout hooks end to end: stripe-sim plays Stripe during an agent's checkout and
//! calls the hook functions (signed) over HTTP through a loopback API Gateway, with the
//! merchant's settings and SKU records in DynamoDB Local; the webhooks function stores
//! the resulting order.

use std::sync::Arc;

use sample_events::fixtures::TEST_WEBHOOK_SECRET;
use serde_json::{Value, json};
use shared::config::Env;
use shared::hooks::Hook;
use shared::hooks::function::HookFunction;
use shared::merchants::{CheckoutSettings, Merchant};
use shared::money::{Money, parse_price};
use shared::skus::{SkuChange, SkuRecord};
use shared::store::dynamo::{DynamoCatalog, DynamoMerchants, DynamoOrders};
use shared::store::{MerchantAdmin, OrderStore, SkuRecords};
use stripe_sim::{SimConfig, SimHandle};

const ACCOUNT: &str = "acct_1HookMerchant";
const HOOK_SECRET: &str = "whsec_test_hooks_local";

struct Stack {
    sim: SimHandle,
    customize: Arc<HookFunction>,
    finalize: Arc<HookFunction>,
    dynamo: aws_sdk_dynamodb::Client,
    tables: [String; 4],
    _gateway: testkit::gateway::Gateway,
    http: reqwest::Client,
}

fn settings() -> CheckoutSettings {
    testkit::demo_checkout_settings()
}

fn snapshot(sku: &str, quantity: Option<i64>, availability: &str) -> SkuChange {
    SkuChange::Replace(SkuRecord {
        account_id: ACCOUNT.into(),
        sku: sku.into(),
        title: Some(format!("Item {sku}")),
        availability: shared::skus::Availability::parse(availability).expect("a feed availability"),
        quantity,
        available: quantity,
        price: Some(Money {
            amount: 1500,
            ..parse_price("15.00 USD").unwrap()
        }),
        shipping: vec![],
        shipping_cost_basis: None,
        source_import: "import-1".into(),
        updated_at: 0,
    })
}

impl Stack {
    async fn start() -> Stack {
        let dynamo = testkit::dynamo().await;
        let tables = [
            testkit::fresh_table(&dynamo, testkit::MERCHANTS).await,
            testkit::fresh_table(&dynamo, testkit::CATALOG).await,
            testkit::fresh_table(&dynamo, testkit::IDEMPOTENCY).await,
            testkit::fresh_table(&dynamo, testkit::ORDERS).await,
        ];
        let mut merchant = Merchant::new(ACCOUNT);
        merchant.checkout = settings();
        DynamoMerchants::new(dynamo.clone(), &tables[0])
            .put_merchant(&merchant)
            .await
            .unwrap();
        let catalog = DynamoCatalog::new(dynamo.clone(), &tables[1]);
        let changes = vec![
            snapshot("MUG", Some(10), "in_stock"),
            snapshot("GONE", Some(0), "out_of_stock"),
            snapshot("PRE", None, "preorder"),
        ];
        catalog
            .apply_sku_changes(ACCOUNT, "import-1", 0, &changes)
            .await
            .unwrap();

        let sim = stripe_sim::start(
            SimConfig {
                webhook_secret: TEST_WEBHOOK_SECRET.into(),
                ..SimConfig::default()
            },
            0,
        )
        .await
        .unwrap();
        let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap();
        let env = Env::from_map([
            ("MERCHANTS_TABLE", tables[0].clone()),
            ("CATALOG_TABLE", tables[1].clone()),
            ("IDEMPOTENCY_TABLE", tables[2].clone()),
            ("ORDERS_TABLE", tables[3].clone()),
            ("STRIPE_HOOK_SECRETS", HOOK_SECRET.to_string()),
            ("STRIPE_WEBHOOK_SECRETS", TEST_WEBHOOK_SECRET.to_string()),
            ("STRIPE_SECRET_KEY", "sk_test_sim".to_string()),
            ("STRIPE_API_BASE", sim.base_url()),
            ("DYNAMODB_ENDPOINT", endpoint),
        ]);
        let customize = Arc::new(
            HookFunction::init(
                Hook::Customize,
                "/stripe/hooks/customize_checkout",
                env.clone(),
            )
            .await
            .unwrap(),
        );
        let finalize = Arc::new(
            HookFunction::init(
                Hook::Finalize,
                "/stripe/hooks/finalize_checkout",
                env.clone(),
            )
            .await
            .unwrap(),
        );
        let webhooks = Arc::new(webhooks::init(env).await.unwrap());
        let (c, f, w) = (customize.clone(), finalize.clone(), webhooks.clone());
        let gateway = testkit::gateway::serve(move |request| {
            let (c, f, w) = (c.clone(), f.clone(), w.clone());
            async move {
                let path = request.uri().path().to_string();
                if path.ends_with("customize_checkout") {
                    c.handle(&request).await
                } else if path.ends_with("finalize_checkout") {
                    f.handle(&request).await
                } else {
                    webhooks::handle(&w, &request).await
                }
            }
        })
        .await;
        let http = reqwest::Client::new();
        let stack = Stack {
            sim,
            customize,
            finalize,
            dynamo,
            tables,
            _gateway: gateway,
            http,
        };
        stack
            .control(
                "/_sim/hooks",
                json!({
                    "customize_url": stack._gateway.url("/stripe/hooks/customize_checkout"),
                    "finalize_url": stack._gateway.url("/stripe/hooks/finalize_checkout"),
                    "secret": HOOK_SECRET,
                }),
            )
            .await;
        stack.control("/_sim/webhook_endpoint", json!({"url": stack._gateway.url("/stripe/webhooks"), "secret": TEST_WEBHOOK_SECRET})).await;
        stack
    }

    async fn control(&self, path: &str, body: Value) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.sim.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn purchase(&self, extra: Value) -> (u16, Value) {
        let mut body = json!({"account": ACCOUNT, "sku": "MUG", "quantity": 2, "unit_amount": 1500, "currency": "usd",
            "shipping_address": {"line1": "1 Market St", "city": "San Francisco", "state": "CA", "postal_code": "94105", "country": "US"},
            "wait_for_delivery": true});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                body.insert(k.clone(), v.clone());
            }
        }
        self.control("/_sim/agentic_checkouts", body).await
    }

    async fn available(&self, sku: &str) -> Option<i64> {
        self.available_for(ACCOUNT, sku).await
    }

    async fn available_for(&self, account: &str, sku: &str) -> Option<i64> {
        DynamoCatalog::new(self.dynamo.clone(), &self.tables[1])
            .sku(account, sku)
            .await
            .unwrap()
            .and_then(|s| s.available)
    }

    async fn hook_calls(&self) -> Vec<Value> {
        let calls: Value = self
            .http
            .get(format!("{}/_sim/hook_calls", self.sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        calls.as_array().cloned().unwrap_or_default()
    }

    fn signed(&self, path: &str, body: &Value, secret: &str) -> lambda_http::Request {
        testkit::signed_post(path, body.to_string().as_bytes(), secret)
    }
}

#[tokio::test]
async fn a_purchase_gets_shipping_taxes_approval_and_fee_and_becomes_an_order() {
    let stack = Stack::start().await;
    let (status, created) = stack.purchase(json!({})).await;
    assert_eq!(status, 200, "{created}");
    let session = &created["checkout_session"];
    // Cheapest rule option (Ground, 7.00); 8.25% CA tax on 30.00 = 2.48.
    assert_eq!(
        session["total_details"]["amount_shipping"], 700,
        "{session}"
    );
    assert_eq!(session["total_details"]["amount_tax"], 248);
    assert_eq!(session["amount_total"], 3000 + 248 + 700);
    let fee = session["payment_intent"]["application_fee_amount"]
        .as_i64()
        .unwrap();
    assert_eq!(
        fee,
        (3948 * 250 + 5_000) / 10_000 + 30,
        "2.5% + 0.30 of the total"
    );
    let calls = stack.hook_calls().await;
    let customize = calls
        .iter()
        .find(|c| c["hook"] == "customize_checkout")
        .expect("customize called");
    let options = customize["response"]["shipping_options"]
        .as_array()
        .unwrap();
    assert_eq!(options.len(), 2);
    assert_eq!(
        options[1]["shipping_rate_data"]["delivery_estimate"]["maximum"]["value"],
        2
    );
    assert_eq!(stack.available("MUG").await, Some(8), "2 of 10 reserved");

    let session_id = session["id"].as_str().unwrap();
    let order = DynamoOrders::new(stack.dynamo.clone(), &stack.tables[3])
        .get(ACCOUNT, session_id)
        .await
        .unwrap()
        .expect("stored order");
    assert_eq!(order.amount_total, Some(3948));
    assert_eq!(order.lines[0].taxes[0].amount, 248);
}

#[tokio::test]
async fn every_decline_reason_is_reached_with_a_readable_reason() {
    let stack = Stack::start().await;
    let cases = [
        (json!({"sku": "UNKNOWN"}), "not sold"),
        (json!({"sku": "GONE"}), "out of stock"),
        (json!({"quantity": 11}), "Only 10"),
        (json!({"card": {"funding": "prepaid"}}), "prepaid"),
        (
            json!({"shipping_address": {"line1": "1 Rue", "city": "Paris", "postal_code": "75001", "country": "FR"}}),
            "does not ship to FR",
        ),
        (
            json!({"quantity": 9, "unit_amount": 20_000}),
            "above what this store accepts",
        ),
    ];
    for (extra, expected) in cases {
        let (status, answer) = stack.purchase(extra.clone()).await;
        assert_eq!(status, 402, "{extra}: {answer}");
        let reason = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(reason.contains(expected), "{extra}: {reason}");
    }
    assert_eq!(
        stack.available("MUG").await,
        Some(10),
        "declines reserve nothing"
    );
    // A preorder sells without counting stock.
    let (status, answer) = stack.purchase(json!({"sku": "PRE", "quantity": 50})).await;
    assert_eq!(status, 200, "{answer}");
    // A paused merchant declines everything.
    let mut merchant = Merchant::new(ACCOUNT);
    merchant.checkout = CheckoutSettings {
        paused: true,
        ..settings()
    };
    DynamoMerchants::new(stack.dynamo.clone(), &stack.tables[0])
        .put_merchant(&merchant)
        .await
        .unwrap();
    let paused = HookFunction::init(
        Hook::Finalize,
        "/stripe/hooks/finalize_checkout",
        Env::from_map([
            ("MERCHANTS_TABLE", stack.tables[0].clone()),
            ("CATALOG_TABLE", stack.tables[1].clone()),
            ("IDEMPOTENCY_TABLE", stack.tables[2].clone()),
            ("STRIPE_HOOK_SECRETS", HOOK_SECRET.to_string()),
            (
                "DYNAMODB_ENDPOINT",
                std::env::var("DYNAMODB_ENDPOINT").unwrap(),
            ),
        ]),
    )
    .await
    .unwrap();
    let request = json!({"type": "v1.delegated_checkout.finalize_checkout", "id": "req_paused", "livemode": false, "context": ACCOUNT,
        "data": {"currency": "usd", "line_items_details": [{"id": "li_1", "sku_id": "MUG", "quantity": 1, "unit_amount": 1500, "amount_total": 1500}], "amount_total": 1500}});
    let response = paused
        .handle(&stack.signed("/stripe/hooks/finalize_checkout", &request, HOOK_SECRET))
        .await;
    let (_, body) = testkit::answer(&response);
    assert_eq!(
        body["manual_approval_details"]["declined"]["reason"],
        "This store is not taking orders right now."
    );
}

#[tokio::test]
async fn a_replayed_request_gets_the_identical_answer_and_a_changed_body_is_refused() {
    let stack = Stack::start().await;
    let (status, _) = stack.purchase(json!({"replay_hooks": true})).await;
    assert_eq!(status, 200);
    let calls = stack.hook_calls().await;
    for hook in ["customize", "finalize"] {
        let answers: Vec<&Value> = calls
            .iter()
            .filter(|c| c["hook"] == format!("{hook}_checkout"))
            .map(|c| &c["response"])
            .collect();
        assert_eq!(answers.len(), 2, "{hook}");
        assert_eq!(
            answers[0], answers[1],
            "{hook}: a retry gets the same answer"
        );
    }
    assert_eq!(
        stack.available("MUG").await,
        Some(8),
        "the retry reserved nothing more"
    );

    let finalize = calls
        .iter()
        .find(|c| c["hook"] == "finalize_checkout")
        .unwrap();
    let mut changed = finalize["request"].clone();
    changed["data"]["amount_total"] = json!(1);
    let response = stack
        .finalize
        .handle(&stack.signed("/stripe/hooks/finalize_checkout", &changed, HOOK_SECRET))
        .await;
    assert_eq!(response.status(), 409);
}

/// The committed finalize request in API Gateway's two shapes (HTTP API 2.0, REST API
/// 1.0), same bytes and signature: both verify, the first decides, the second replays it.
#[tokio::test]
async fn the_same_signed_finalize_is_answered_alike_in_both_payload_shapes() {
    let stack = Stack::start().await;
    let http_api = testkit::fixture("hooks/finalize_checkout.json");
    let rest = testkit::fixture("hooks/finalize_checkout_rest.json");
    let account = testkit::fixture_event(&http_api)["context"]
        .as_str()
        .unwrap()
        .to_string();
    let mut merchant = Merchant::new(&account);
    merchant.checkout = settings();
    DynamoMerchants::new(stack.dynamo.clone(), &stack.tables[0])
        .put_merchant(&merchant)
        .await
        .unwrap();
    let mut mug = snapshot("MUG-TRAIL-12", Some(5), "in_stock");
    if let SkuChange::Replace(s) = &mut mug {
        s.account_id = account.clone();
    }
    DynamoCatalog::new(stack.dynamo.clone(), &stack.tables[1])
        .apply_sku_changes(&account, "import-1", 0, &[mug])
        .await
        .unwrap();

    // Sign once (v2), and give the v1 event the very same signature header.
    let signed = testkit::signed_event(&http_api, HOOK_SECRET);
    let signature = sample_events::fixtures::header(&signed, "stripe-signature").unwrap();
    let mut rest_signed = rest.clone();
    rest_signed["headers"]["Stripe-Signature"] = json!(signature);
    rest_signed["multiValueHeaders"]["Stripe-Signature"] = json!([signature]);
    assert_eq!(rest_signed["body"], signed["body"]);

    let first = stack
        .finalize
        .handle(&testkit::lambda_request(&signed))
        .await;
    let (status, decision) = testkit::answer(&first);
    assert_eq!(status, 200, "{decision}");
    assert_eq!(
        decision["manual_approval_details"]["type"], "approved",
        "{decision}"
    );
    let second = stack
        .finalize
        .handle(&testkit::lambda_request(&rest_signed))
        .await;
    assert_eq!(testkit::answer(&second), (200, decision));
    assert_eq!(
        stack.available_for(&account, "MUG-TRAIL-12").await,
        Some(3),
        "reserved once"
    );
}

#[tokio::test]
async fn fifty_concurrent_finalizes_for_ten_in_stock_approve_exactly_ten() {
    let stack = Stack::start().await;
    let requests: Vec<_> = (0..50)
        .map(|i| {
            let body = json!({"type": "v1.delegated_checkout.finalize_checkout", "id": format!("req_race_{i}"), "livemode": false, "context": ACCOUNT,
                "data": {"currency": "usd", "checkout_session": format!("cs_test_race_{i}"),
                    "line_items_details": [{"id": "li_1", "sku_id": "MUG", "name": "Mug", "quantity": 1, "unit_amount": 1500, "amount_subtotal": 1500, "amount_total": 1500}],
                    "shipping_details": {"address": {"country": "US", "state": "CA"}}, "amount_total": 1500}});
            stack.signed("/stripe/hooks/finalize_checkout", &body, HOOK_SECRET)
        })
        .collect();
    let answers = futures::future::join_all(requests.iter().map(|r| {
        let f = stack.finalize.clone();
        async move { f.handle(r).await }
    }))
    .await;
    let mut approved = 0;
    for answer in answers {
        let (status, body) = testkit::answer(&answer);
        assert_eq!(status, 200);
        if body["manual_approval_details"]["type"] == "approved" {
            approved += 1;
        }
    }
    assert_eq!(approved, 10);
    assert_eq!(stack.available("MUG").await, Some(0));
}

#[tokio::test]
async fn bad_signature_malformed_json_and_unknown_merchant_get_4xx_and_change_nothing() {
    let stack = Stack::start().await;
    let good = json!({"type": "v1.delegated_checkout.finalize_checkout", "id": "req_bad", "livemode": false, "context": ACCOUNT,
        "data": {"currency": "usd", "line_items_details": [{"id": "li_1", "sku_id": "MUG", "quantity": 1}], "amount_total": 1500}});
    let cases = [
        ("wrong secret", stack.signed("/stripe/hooks/finalize_checkout", &good, "whsec_wrong"), 400),
        ("malformed", testkit::signed_post("/stripe/hooks/finalize_checkout", b"{not json", HOOK_SECRET), 400),
        ("unknown merchant", stack.signed("/stripe/hooks/finalize_checkout", &{
            let mut other = good.clone();
            other["context"] = json!("acct_1Nobody");
            other
        }, HOOK_SECRET), 404),
        ("wrong type", stack.signed("/stripe/hooks/finalize_checkout", &json!({"type": "v1.delegated_checkout.customize_checkout", "id": "x", "livemode": false, "context": ACCOUNT, "data": {"currency": "usd"}}), HOOK_SECRET), 400),
    ];
    for (name, request, status) in cases {
        let response = stack.finalize.handle(&request).await;
        let (got, body) = testkit::answer(&response);
        assert_eq!(got, status, "{name}");
        assert!(body["error"]["message"].is_string(), "{name}: {body}");
    }
    assert_eq!(stack.available("MUG").await, Some(10));
    let idempotency = stack
        .dynamo
        .scan()
        .table_name(&stack.tables[2])
        .send()
        .await
        .unwrap()
        .count();
    assert_eq!(idempotency, 0, "nothing stored");
    let _ = &stack.customize;
}

fn finalize_request(id: &str, session: &str, quantity: i64) -> Value {
    json!({"type": "v1.delegated_checkout.finalize_checkout", "id": id, "livemode": false, "context": ACCOUNT,
        "data": {"currency": "usd", "checkout_session": session,
            "line_items_details": [{"id": "li_1", "sku_id": "MUG", "name": "Mug", "quantity": quantity, "unit_amount": 1500, "amount_subtotal": 1500 * quantity, "amount_total": 1500 * quantity}],
            "shipping_details": {"address": {"country": "US", "state": "CA"}}, "amount_total": 1500 * quantity}})
}

fn expired_event(session: &str) -> Vec<u8> {
    json!({"id": format!("evt_expired_{session}"), "object": "event", "type": "checkout.session.expired", "created": testkit::now_seconds(),
        "livemode": false, "account": ACCOUNT, "data": {"object": {"id": session, "object": "checkout.session", "status": "expired"}}})
    .to_string()
    .into_bytes()
}

/// Stock comes back when the session expires, once, and not into a newer feed's snapshot.
#[tokio::test]
async fn reservations_are_released_on_expiry_unless_a_newer_feed_superseded_them() {
    let stack = Stack::start().await;
    let endpoint = std::env::var("DYNAMODB_ENDPOINT").unwrap();
    let env = Env::from_map([
        ("ORDERS_TABLE", stack.tables[3].clone()),
        ("IDEMPOTENCY_TABLE", stack.tables[2].clone()),
        ("CATALOG_TABLE", stack.tables[1].clone()),
        ("STRIPE_WEBHOOK_SECRETS", TEST_WEBHOOK_SECRET.to_string()),
        ("STRIPE_SECRET_KEY", "sk_test_sim".to_string()),
        ("STRIPE_API_BASE", stack.sim.base_url()),
        ("DYNAMODB_ENDPOINT", endpoint),
    ]);
    let webhooks = webhooks::init(env).await.unwrap();
    let expire = |session: &str| {
        testkit::signed_post(
            "/stripe/webhooks",
            &expired_event(session),
            TEST_WEBHOOK_SECRET,
        )
    };

    let answer = stack
        .finalize
        .handle(&stack.signed(
            "/stripe/hooks/finalize_checkout",
            &finalize_request("req_r1", "cs_test_r1", 3),
            HOOK_SECRET,
        ))
        .await;
    assert_eq!(answer.status(), 200);
    assert_eq!(stack.available("MUG").await, Some(7));
    assert_eq!(
        webhooks::handle(&webhooks, &expire("cs_test_r1"))
            .await
            .status(),
        200
    );
    assert_eq!(stack.available("MUG").await, Some(10), "released");
    // A redelivered or second expiry gives nothing back twice.
    let again = String::from_utf8(expired_event("cs_test_r1"))
        .unwrap()
        .replace("evt_expired_cs_test_r1", "evt_expired_again");
    let again = testkit::signed_post("/stripe/webhooks", again.as_bytes(), TEST_WEBHOOK_SECRET);
    assert_eq!(webhooks::handle(&webhooks, &again).await.status(), 200);
    assert_eq!(stack.available("MUG").await, Some(10));

    // Reserved, then a new inventory feed sets the stock: the expiry must not add to it.
    stack
        .finalize
        .handle(&stack.signed(
            "/stripe/hooks/finalize_checkout",
            &finalize_request("req_r2", "cs_test_r2", 4),
            HOOK_SECRET,
        ))
        .await;
    assert_eq!(stack.available("MUG").await, Some(6));
    let catalog = DynamoCatalog::new(stack.dynamo.clone(), &stack.tables[1]);
    catalog
        .apply_sku_changes(
            ACCOUNT,
            "import-2",
            1,
            &[SkuChange::Stock {
                sku: "MUG".into(),
                availability: shared::skus::Availability::InStock,
                quantity: Some(5),
            }],
        )
        .await
        .unwrap();
    assert_eq!(
        webhooks::handle(&webhooks, &expire("cs_test_r2"))
            .await
            .status(),
        200
    );
    assert_eq!(
        stack.available("MUG").await,
        Some(5),
        "the newer feed's count stands"
    );
}

/// A merchant that sells only through agents it has a confirmed agreement with.
#[tokio::test]
async fn agents_without_a_confirmed_agreement_are_declined_when_the_request_names_them() {
    use shared::agreements::Agreement;
    use shared::store::AgreementStore;
    use shared::store::dynamo::DynamoAgreements;

    let stack = Stack::start().await;
    let agreements_table = testkit::fresh_table(&stack.dynamo, testkit::AGREEMENTS).await;
    let agreements = DynamoAgreements::new(stack.dynamo.clone(), &agreements_table);
    let confirmed = Agreement::from_stripe(ACCOUNT, &json!({"id": "orca_1", "status": "confirmed",
        "orchestrator_details": {"name": "ChatGPT", "network_business_profile": "nbp_openai"},
        "status_transitions": {"orchestrator_confirmed_at": "2026-11-28T10:00:00Z", "seller_confirmed_at": "2026-11-28T10:01:00Z"}})).unwrap();
    agreements.put_if_newer(&confirmed).await.unwrap();
    let terminated = Agreement::from_stripe(ACCOUNT, &json!({"id": "orca_2", "status": "terminated",
        "orchestrator_details": {"name": "Other Agent", "network_business_profile": "nbp_other"}, "status_transitions": {"terminated_at": "2026-11-28T11:00:00Z"}})).unwrap();
    agreements.put_if_newer(&terminated).await.unwrap();
    let mut merchant = Merchant::new(ACCOUNT);
    merchant.checkout = CheckoutSettings {
        require_agreement: true,
        ..settings()
    };
    DynamoMerchants::new(stack.dynamo.clone(), &stack.tables[0])
        .put_merchant(&merchant)
        .await
        .unwrap();
    let finalize = HookFunction::init(
        Hook::Finalize,
        "/stripe/hooks/finalize_checkout",
        Env::from_map([
            ("MERCHANTS_TABLE", stack.tables[0].clone()),
            ("CATALOG_TABLE", stack.tables[1].clone()),
            ("IDEMPOTENCY_TABLE", stack.tables[2].clone()),
            ("AGREEMENTS_TABLE", agreements_table),
            ("STRIPE_HOOK_SECRETS", HOOK_SECRET.to_string()),
            (
                "DYNAMODB_ENDPOINT",
                std::env::var("DYNAMODB_ENDPOINT").unwrap(),
            ),
        ]),
    )
    .await
    .unwrap();
    let decision = |id: &str, agent: Value| {
        let mut request = finalize_request(id, &format!("cs_test_{id}"), 1);
        if !agent.is_null() {
            request["data"]["agent_details"] = agent;
        }
        stack.signed("/stripe/hooks/finalize_checkout", &request, HOOK_SECRET)
    };
    let answer = |response: http::Response<String>| -> Value { testkit::answer(&response).1 };
    let ok = answer(
        finalize
            .handle(&decision(
                "agr_ok",
                json!({"name": "ChatGPT", "network_business_profile": "nbp_openai"}),
            ))
            .await,
    );
    assert_eq!(ok["manual_approval_details"]["type"], "approved", "{ok}");
    let ended = answer(
        finalize
            .handle(&decision(
                "agr_ended",
                json!({"network_business_profile": "nbp_other"}),
            ))
            .await,
    );
    assert_eq!(
        ended["manual_approval_details"]["declined"]["reason"],
        "This store does not sell through this agent."
    );
    let unknown = answer(
        finalize
            .handle(&decision("agr_unknown", json!({"name": "Stranger Bot"})))
            .await,
    );
    assert_eq!(unknown["manual_approval_details"]["type"], "declined");
    // A request that does not say which agent buys: the setting cannot apply.
    let anonymous = answer(finalize.handle(&decision("agr_anon", Value::Null)).await);
    assert_eq!(
        anonymous["manual_approval_details"]["type"], "approved",
        "{anonymous}"
    );
}
