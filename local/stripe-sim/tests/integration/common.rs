use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use reqwest::RequestBuilder;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stripe_sim::{SimConfig, SimHandle};

pub const KEY: &str = "sk_test_sim";
pub const ACCT: &str = "acct_1TestMerchant";
/// A version with the Product Catalog Import API, `mode` and the promotion feed.
pub const V2_VERSION: &str = "2026-06-24.dahlia";

pub struct Env {
    pub sim: SimHandle,
    pub http: reqwest::Client,
}

impl Env {
    pub async fn start() -> Self {
        Self::with(SimConfig::default()).await
    }

    pub async fn with(config: SimConfig) -> Self {
        let sim = stripe_sim::start(config, 0).await.expect("sim starts");
        Self {
            sim,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sim.base_url(), path)
    }

    /// An authenticated API request acting as `account` (if any).
    pub fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        account: Option<&str>,
    ) -> RequestBuilder {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(KEY);
        if let Some(account) = account {
            req = req.header("Stripe-Account", account);
        }
        req
    }

    pub fn get(&self, path: &str, account: Option<&str>) -> RequestBuilder {
        self.api(reqwest::Method::GET, path, account)
    }

    pub fn post(&self, path: &str, account: Option<&str>) -> RequestBuilder {
        self.api(reqwest::Method::POST, path, account)
    }

    pub async fn control_raw(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("control call");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json body"))
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let (status, value) = self.control_raw(path, body).await;
        assert_eq!(status, 200, "{path}: {value}");
        value
    }

    /// A standard purchase: 2 × 1500 at 8.25 % exclusive tax plus 500 shipping = 3748.
    pub async fn purchase(&self, extra: Value) -> Value {
        let mut body = json!({
            "account": ACCT,
            "sku": "SKU-1",
            "quantity": 2,
            "unit_amount": 1500,
            "currency": "usd",
            "product": {"name": "Trail shoe", "description": "A shoe for trails", "gtin": "00012345678905", "mpn": "TS-1"},
            "tax": {"percentage": 8.25, "tax_type": "sales_tax", "display_name": "Sales tax", "inclusive": false},
            "shipping_amount": 500,
            "shipping_details": {"name": "Jenny Rosen", "address": {"line1": "1 Main St", "city": "Austin", "state": "TX", "postal_code": "78701", "country": "US"}},
            "card": {"brand": "mastercard", "last4": "4444", "exp_month": 3, "exp_year": 2031},
            "agent_details": {"agent_name": "ChatGPT", "agent_id": "agt_123"},
        });
        if let (Some(base), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                base.insert(k.clone(), v.clone());
            }
        }
        self.control("/_sim/agentic_checkouts", body).await
    }

    pub async fn events(&self) -> Vec<Value> {
        let resp = self
            .http
            .get(self.url("/_sim/events"))
            .send()
            .await
            .expect("events");
        resp.json::<Vec<Value>>().await.expect("events json")
    }
}

pub async fn body(resp: reqwest::Response) -> (u16, reqwest::header::HeaderMap, Value) {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let value = resp.json().await.unwrap_or(Value::Null);
    (status, headers, value)
}

#[derive(Clone, Debug)]
pub struct Hit {
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("webhook body is JSON")
    }
}

#[derive(Clone, Default)]
struct ReceiverState {
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Statuses to answer with, in order; 200 once exhausted.
    script: Arc<Mutex<VecDeque<u16>>>,
}

/// A webhook endpoint that records what it receives.
pub struct Receiver {
    pub url: String,
    state: ReceiverState,
}

impl Receiver {
    pub async fn start(script: &[u16]) -> Self {
        let state = ReceiverState::default();
        state
            .script
            .lock()
            .expect("lock")
            .extend(script.iter().copied());
        let app = axum::Router::new()
            .route("/hook", post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, state }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().expect("lock").clone()
    }

    /// Waits (bounded) until at least `n` deliveries arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Hit> {
        for _ in 0..200 {
            let hits = self.hits();
            if hits.len() >= n {
                return hits;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.hits()
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    state.hits.lock().expect("lock").push(Hit { headers, body });
    let status = state
        .script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}

pub fn config_with_webhook(url: &str) -> SimConfig {
    SimConfig {
        webhook_url: Some(url.to_string()),
        ..SimConfig::default()
    }
}

/// The beta `Stripe-Version` the import sets API needs.
pub const BETA: &str = "2025-09-30.clover;udap_beta=v1";
pub const OTHER: &str = "acct_1OtherMerchant";
pub const PURPOSE: &str = "data_management_manual_upload";

/// A catalog file for `POST /v1/files`.
pub struct Upload<'a> {
    pub purpose: Option<&'a str>,
    pub filename: &'a str,
    pub content_type: Option<&'a str>,
    pub bytes: Vec<u8>,
}

impl<'a> Upload<'a> {
    pub fn csv(text: &str) -> Self {
        Self {
            purpose: Some(PURPOSE),
            filename: "catalog.csv",
            content_type: Some("text/csv"),
            bytes: text.as_bytes().to_vec(),
        }
    }

    pub fn tsv(text: &str) -> Self {
        Self {
            purpose: Some(PURPOSE),
            filename: "catalog.tsv",
            content_type: Some("text/tab-separated-values"),
            bytes: text.as_bytes().to_vec(),
        }
    }

    pub fn form(&self) -> reqwest::multipart::Form {
        let mut form = reqwest::multipart::Form::new();
        if let Some(purpose) = self.purpose {
            form = form.text("purpose", purpose.to_string());
        }
        let mut part = reqwest::multipart::Part::bytes(self.bytes.clone())
            .file_name(self.filename.to_string());
        if let Some(ct) = self.content_type {
            part = part.mime_str(ct).expect("mime");
        }
        form.part("file", part)
    }
}

impl Env {
    /// `POST /v1/files`, answering `(status, body)`.
    pub async fn upload(&self, account: Option<&str>, upload: &Upload<'_>) -> (u16, Value) {
        self.upload_with_key(account, upload, None).await
    }

    pub async fn upload_with_key(
        &self,
        account: Option<&str>,
        upload: &Upload<'_>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.post("/v1/files", account).multipart(upload.form());
        if let Some(key) = key {
            req = req.header("Idempotency-Key", key);
        }
        let (status, _, value) = body(req.send().await.expect("upload")).await;
        (status, value)
    }

    /// Uploads a CSV and returns its file id.
    pub async fn file(&self, account: Option<&str>, upload: &Upload<'_>) -> String {
        let (status, value) = self.upload(account, upload).await;
        assert_eq!(status, 200, "{value}");
        value["id"].as_str().expect("file id").to_string()
    }

    pub async fn create_import_set(
        &self,
        account: Option<&str>,
        file: &str,
        format: &str,
    ) -> (u16, Value) {
        let req = self
            .post("/v1/data_management/import_sets", account)
            .header("Stripe-Version", BETA)
            .form(&[("file", file), ("standard_data_format", format)]);
        let (status, _, value) = body(req.send().await.expect("import set")).await;
        (status, value)
    }

    pub async fn import_set(&self, account: Option<&str>, id: &str) -> (u16, Value) {
        let req = self
            .get(&format!("/v1/data_management/import_sets/{id}"), account)
            .header("Stripe-Version", BETA);
        let (status, _, value) = body(req.send().await.expect("import set")).await;
        (status, value)
    }

    /// A v2 request acting in `context`.
    pub fn v2(&self, method: reqwest::Method, path: &str, context: Option<&str>) -> RequestBuilder {
        let mut req = self.http.request(method, self.url(path)).bearer_auth(KEY);
        if let Some(context) = context {
            req = req.header("Stripe-Context", context);
        }
        req.header("Stripe-Version", V2_VERSION)
    }

    pub async fn create_catalog_import(
        &self,
        context: Option<&str>,
        params: Value,
    ) -> (u16, Value) {
        let req = self
            .v2(
                reqwest::Method::POST,
                "/v2/commerce/product_catalog/imports",
                context,
            )
            .json(&params);
        let (status, _, value) = body(req.send().await.expect("catalog import")).await;
        (status, value)
    }

    pub async fn catalog_import(&self, context: Option<&str>, id: &str) -> (u16, Value) {
        let req = self.v2(
            reqwest::Method::GET,
            &format!("/v2/commerce/product_catalog/imports/{id}"),
            context,
        );
        let (status, _, value) = body(req.send().await.expect("catalog import")).await;
        (status, value)
    }

    /// PUTs `bytes` to an import's upload URL; answers the status.
    pub async fn put_upload(&self, import: &Value, bytes: &[u8], content_type: &str) -> u16 {
        let url = import["status_details"]["awaiting_upload"]["upload_url"]["url"]
            .as_str()
            .expect("upload url");
        self.http
            .put(url)
            .header("Content-Type", content_type)
            .body(bytes.to_vec())
            .send()
            .await
            .expect("put")
            .status()
            .as_u16()
    }

    /// Creates a v2 import and uploads `csv` to it; returns the import id.
    pub async fn v2_import(&self, context: Option<&str>, params: Value, csv: &str) -> String {
        let (status, import) = self.create_catalog_import(context, params).await;
        assert_eq!(status, 200, "{import}");
        assert_eq!(
            self.put_upload(&import, csv.as_bytes(), "text/csv").await,
            200
        );
        import["id"].as_str().expect("import id").to_string()
    }

    pub async fn catalog(&self, account: &str) -> Value {
        let resp = self
            .http
            .get(self.url(&format!("/_sim/catalog/{account}")))
            .send()
            .await
            .expect("catalog");
        assert_eq!(resp.status().as_u16(), 200);
        resp.json().await.expect("catalog json")
    }

    /// `GET` a URL without credentials (pre-signed URLs): status, content type, body.
    pub async fn fetch(&self, url: &str) -> (u16, String, Vec<u8>) {
        let resp = self.http.get(url).send().await.expect("fetch");
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        (status, ct, resp.bytes().await.expect("bytes").to_vec())
    }
}
