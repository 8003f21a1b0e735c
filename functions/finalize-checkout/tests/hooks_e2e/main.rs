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

mod decisions;
mod requests;
mod stock;

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
        held: None,
        price: Some(Money {
            amount: 1500,
            ..parse_price("15.00 USD").unwrap()
        }),
        shipping: vec![],
        shipping_cost_basis: None,
        source_import: "import-1".into(),
        updated_at: 0,
        product_import: None,
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
