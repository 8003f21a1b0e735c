//! A fault proxy in front of DynamoDB Local: every request is forwarded unchanged, except
//! that, when told to, the proxy answers a share of them itself with DynamoDB's throttling
//! or internal-error answers, and delays them. The functions under test see what they
//! would see from DynamoDB on a bad day, through their real SDK client.
//!
//! Control, at runtime, on the proxy's own port:
//! - `POST /_faults` `{"throttle_percent": 10, "error_percent": 5, "latency_ms": 200,
//!   "operations": ["TransactWriteItems"]}` (every field optional; see [`Faults`]);
//! - `DELETE /_faults`: back to plain forwarding;
//! - `GET /_faults`: the faults in force and what the proxy did (see [`Stats`], with the
//!   capacity DynamoDB says the forwarded requests consumed), which is
//!   how a test knows a delay was applied without timing anything.
//!
//! The operation is the one the request names in `X-Amz-Target`
//! (`DynamoDB_20120810.TransactWriteItems`); requests without one are always forwarded,
//! and counted by method (`HttpGet`, `HttpPut`, …), so the same proxy in front of the S3
//! and SQS emulator counts the requests a run made of those (SQS names its operations in
//! `X-Amz-Target` too: `AmazonSQS.SendMessageBatch`).
//!
//! The answers are AWS's (sources, read 2025):
//! - "Error handling with DynamoDB", Amazon DynamoDB Developer Guide,
//!   <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html>:
//!   an error is an HTTP status, an exception name and a message; the low-level response
//!   is `Content-Type: application/x-amz-json-1.0` with the body
//!   `{"__type":"com.amazonaws.dynamodb.v20120810#<Exception>","message":"…"}` and an
//!   `x-amzn-RequestId` header. Its "Error messages and codes" list
//!   `ProvisionedThroughputExceededException` and `ThrottlingException` under HTTP 400
//!   (OK to retry: yes) and `InternalServerError` under HTTP 500 (OK to retry: yes).
//! - The API reference's exception pages (e.g. botocore's
//!   `DynamoDB.Client.exceptions.ProvisionedThroughputExceededException`,
//!   `…InternalServerError`): the members are `message` (and, for throttling, an
//!   optional `ThrottlingReasons` list, which we do not send).
//!
//! The AWS SDKs read the exception name after the `#` of `__type`; real DynamoDB may send
//! `ThrottlingException` under another prefix, which the SDKs read the same way.

mod capacity;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The `__type` prefix of DynamoDB's JSON protocol errors.
pub const ERROR_PREFIX: &str = "com.amazonaws.dynamodb.v20120810#";
/// DynamoDB's JSON protocol content type.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
/// Marks the answers the proxy made itself (never sent by DynamoDB).
pub const FAULT_HEADER: &str = "x-acb-fault";

/// The longest delay the control endpoint accepts.
const MAX_LATENCY_MS: u64 = 60_000;
/// Bounds on what the control endpoint and the counters accept from outside.
const MAX_OPERATIONS: usize = 64;
const MAX_OPERATION_NAME: usize = 64;
const MAX_COUNTED_OPERATIONS: usize = 128;
/// DynamoDB's largest request (BatchWriteItem) is 16 MB.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Which throttling exception a throttled request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Throttle {
    /// A table or index over its provisioned or on-demand throughput (data plane).
    #[default]
    ProvisionedThroughputExceededException,
    ThrottlingException,
}

/// The faults in force. Every field is optional in the control request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Share of matching requests answered 400 with a throttling exception (0 to 100).
    pub throttle_percent: f64,
    /// Which throttling exception.
    pub throttle_error: Throttle,
    /// Share of matching requests answered 500 `InternalServerError` (0 to 100; with
    /// `throttle_percent`, at most 100 in all).
    pub error_percent: f64,
    /// Added to every matching request before it is answered or forwarded.
    pub latency_ms: u64,
    /// The operations (`TransactWriteItems`, `GetItem`, …) the faults apply to; empty: all.
    pub operations: Vec<String>,
    /// Stop injecting throttles and errors after this many (latency goes on); unset: no end.
    pub max_faults: Option<u64>,
}

impl Faults {
    /// Checks a control request: it comes from outside.
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            ("throttle_percent", self.throttle_percent),
            ("error_percent", self.error_percent),
        ] {
            if !(0.0..=100.0).contains(&value) {
                return Err(format!("{name} must be between 0 and 100, not {value}"));
            }
        }
        if self.throttle_percent + self.error_percent > 100.0 {
            return Err("throttle_percent + error_percent must be at most 100".into());
        }
        if self.latency_ms > MAX_LATENCY_MS {
            return Err(format!("latency_ms must be at most {MAX_LATENCY_MS}"));
        }
        if self.operations.len() > MAX_OPERATIONS {
            return Err(format!("at most {MAX_OPERATIONS} operations"));
        }
        if let Some(bad) = self.operations.iter().find(|o| !is_operation_name(o)) {
            return Err(format!(
                "{bad:?} is not a DynamoDB operation name (letters only, e.g. TransactWriteItems)"
            ));
        }
        Ok(())
    }

    fn applies_to(&self, operation: &str) -> bool {
        self.operations.is_empty() || self.operations.iter().any(|o| o == operation)
    }

    fn is_active(&self) -> bool {
        self.throttle_percent > 0.0 || self.error_percent > 0.0 || self.latency_ms > 0
    }
}

fn is_operation_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_OPERATION_NAME
        && name.bytes().all(|b| b.is_ascii_alphabetic())
}

/// What the proxy did, in total and per operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Requests that named this operation.
    pub requests: u64,
    /// Answered with a throttling exception.
    pub throttled: u64,
    /// Answered with `InternalServerError`.
    pub errors: u64,
    /// Delayed by `latency_ms`.
    pub delayed: u64,
    /// The delays applied, summed.
    pub delay_ms_total: u64,
    /// Passed on to DynamoDB.
    pub forwarded: u64,
    /// Capacity DynamoDB said the forwarded requests consumed, in thousandths of a unit
    /// (read units for reads, write units for writes; see `capacity`).
    pub capacity_milli_units: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub total: Counts,
    /// By operation; names beyond a bound are counted under `other`.
    pub operations: BTreeMap<String, Counts>,
    /// Requests DynamoDB did not answer (the proxy answered 502).
    pub upstream_failures: u64,
    /// Consumed capacity in all, in thousandths of a unit.
    pub read_milli_units: u64,
    pub write_milli_units: u64,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    faults: Mutex<Faults>,
    stats: Mutex<Stats>,
    injected: AtomicU64,
}

impl Shared {
    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn stats(&self) -> MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, operation: &str, update: impl Fn(&mut Counts)) {
        let mut stats = self.stats();
        update(&mut stats.total);
        if operation.is_empty() {
            return;
        }
        let key = if stats.operations.contains_key(operation)
            || stats.operations.len() < MAX_COUNTED_OPERATIONS
        {
            operation.to_string()
        } else {
            "other".to_string()
        };
        update(stats.operations.entry(key).or_default());
    }
}

/// A running proxy. Cheap to clone; it serves until the process (or runtime) ends.
#[derive(Clone)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl FaultProxy {
    /// Listens on `listen` (port 0: any free one) and forwards to `upstream`
    /// (`http://127.0.0.1:8000`).
    pub async fn start(listen: SocketAddr, upstream: &str) -> std::io::Result<FaultProxy> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            client,
            faults: Mutex::new(Faults::default()),
            stats: Mutex::new(Stats::default()),
            injected: AtomicU64::new(0),
        });
        let app = Router::new()
            .route(
                "/_faults",
                get(show_faults).post(set_faults).delete(clear_faults),
            )
            .fallback(proxy)
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(FaultProxy { addr, shared })
    }

    /// The endpoint to give DynamoDB clients (`DYNAMODB_ENDPOINT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The control endpoint (`POST`/`DELETE`/`GET`).
    pub fn control_url(&self) -> String {
        format!("{}/_faults", self.url())
    }

    pub fn set(&self, faults: Faults) -> Result<(), String> {
        faults.validate()?;
        *self.shared.faults() = faults;
        self.shared.injected.store(0, Ordering::SeqCst);
        Ok(())
    }

    pub fn clear(&self) {
        *self.shared.faults() = Faults::default();
    }

    pub fn faults(&self) -> Faults {
        self.shared.faults().clone()
    }

    pub fn stats(&self) -> Stats {
        self.shared.stats().clone()
    }
}

fn control_answer(shared: &Shared) -> Response {
    let faults = shared.faults().clone();
    let stats = shared.stats().clone();
    axum::Json(json!({"faults": faults, "stats": stats})).into_response()
}

async fn show_faults(State(shared): State<Arc<Shared>>) -> Response {
    control_answer(&shared)
}

async fn set_faults(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let faults = match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(value) if value.is_object() => serde_json::from_value::<Faults>(value),
        Ok(_) => return control_error("the body must be a JSON object"),
        Err(e) => Err(e),
    };
    let faults = match faults {
        Ok(f) => f,
        Err(e) => return control_error(&format!("the body is not a fault setting: {e}")),
    };
    if let Err(why) = faults.validate() {
        return control_error(&why);
    }
    *shared.faults() = faults;
    shared.injected.store(0, Ordering::SeqCst);
    control_answer(&shared)
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    *shared.faults() = Faults::default();
    control_answer(&shared)
}

fn control_error(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": message})),
    )
        .into_response()
}

/// The operation a DynamoDB request names, if it names a plausible one.
fn operation(headers: &HeaderMap) -> String {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split_once('.'))
        .map(|(_, op)| op)
        .filter(|op| is_operation_name(op))
        .unwrap_or("")
        .to_string()
}

/// The name a request without an operation is counted under: `HttpGet`, `HttpPut`, …
fn http_name(method: &axum::http::Method) -> String {
    let lower = method.as_str().to_ascii_lowercase();
    let mut name = String::from("Http");
    let mut chars = lower.chars();
    if let Some(first) = chars.next() {
        name.push(first.to_ascii_uppercase());
        name.extend(chars);
    }
    name
}

/// DynamoDB's error answer: `status`, `__type` and `message`, in its content type.
pub fn aws_error(status: StatusCode, exception: &str, message: &str) -> Response {
    let body = json!({"__type": format!("{ERROR_PREFIX}{exception}"), "message": message});
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(id) = HeaderValue::from_str(&request_id()) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

/// A request id shaped like DynamoDB's (52 upper-case letters and digits).
fn request_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..52)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

enum Decision {
    Throttle(Throttle),
    Error,
    Forward,
}

fn decide(shared: &Shared, faults: &Faults) -> Decision {
    let roll = fastrand::f64() * 100.0;
    let wanted = if roll < faults.throttle_percent {
        Decision::Throttle(faults.throttle_error)
    } else if roll < faults.throttle_percent + faults.error_percent {
        Decision::Error
    } else {
        return Decision::Forward;
    };
    match faults.max_faults {
        Some(limit) => {
            let ok = shared
                .injected
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                    (n < limit).then_some(n + 1)
                })
                .is_ok();
            if ok { wanted } else { Decision::Forward }
        }
        None => wanted,
    }
}

async fn proxy(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let operation = operation(request.headers());
    // Requests without an operation (S3's REST calls, when the proxy fronts an S3
    // emulator) are counted by method and never faulted.
    let counted = if operation.is_empty() {
        http_name(request.method())
    } else {
        operation.clone()
    };
    shared.count(&counted, |c| c.requests += 1);
    let faults = shared.faults().clone();
    if !operation.is_empty() && faults.is_active() && faults.applies_to(&operation) {
        if faults.latency_ms > 0 {
            tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
            shared.count(&operation, |c| {
                c.delayed += 1;
                c.delay_ms_total += faults.latency_ms;
            });
        }
        match decide(&shared, &faults) {
            Decision::Throttle(kind) => {
                shared.count(&operation, |c| c.throttled += 1);
                let (name, message) = match kind {
                    Throttle::ProvisionedThroughputExceededException => (
                        "ProvisionedThroughputExceededException",
                        "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
                    ),
                    Throttle::ThrottlingException => (
                        "ThrottlingException",
                        "Rate of requests exceeds the allowed throughput.",
                    ),
                };
                let mut response = aws_error(StatusCode::BAD_REQUEST, name, message);
                response
                    .headers_mut()
                    .insert(FAULT_HEADER, HeaderValue::from_static("throttle"));
                return response;
            }
            Decision::Error => {
                shared.count(&operation, |c| c.errors += 1);
                let mut response = aws_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalServerError",
                    "Internal server error",
                );
                response
                    .headers_mut()
                    .insert(FAULT_HEADER, HeaderValue::from_static("error"));
                return response;
            }
            Decision::Forward => {}
        }
    }
    match forward(&shared, &operation, request).await {
        Ok((response, milli_units)) => {
            shared.count(&counted, |c| {
                c.forwarded += 1;
                c.capacity_milli_units += milli_units;
            });
            let mut stats = shared.stats();
            if capacity::is_read(&operation) {
                stats.read_milli_units += milli_units;
            } else {
                stats.write_milli_units += milli_units;
            }
            response
        }
        Err(why) => {
            shared.stats().upstream_failures += 1;
            (
                StatusCode::BAD_GATEWAY,
                format!("the fault proxy could not reach DynamoDB: {why}"),
            )
                .into_response()
        }
    }
}

/// Hop-by-hop and length headers the proxy sets itself.
fn passes(name: &str) -> bool {
    !matches!(
        name,
        "host" | "connection" | "content-length" | "transfer-encoding" | "keep-alive" | "upgrade"
    )
}

/// Forwards the request, asking DynamoDB for the capacity it consumes; returns the answer
/// and that capacity (thousandths of a unit).
async fn forward(
    shared: &Shared,
    operation: &str,
    request: Request,
) -> Result<(Response, u64), String> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|e| format!("reading the request: {e}"))?;
    // DynamoDB Local does not check request signatures, so the body may change.
    let body = capacity::ask_for_capacity(operation, &body)
        .map(Bytes::from)
        .unwrap_or(body);
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut outgoing = shared
        .client
        .request(parts.method.clone(), format!("{}{path}", shared.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if passes(name.as_str()) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = outgoing.send().await.map_err(|e| e.to_string())?;
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.map_err(|e| e.to_string())?;
    let milli_units = if status.is_success() && capacity::is_metered(operation) {
        capacity::consumed_milli_units(&bytes)
    } else {
        0
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if passes(name.as_str()) {
            response.headers_mut().append(name, value.clone());
        }
    }
    Ok((response, milli_units))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_requests_are_checked() {
        let ok: Faults = serde_json::from_str(
            r#"{"throttle_percent":10,"error_percent":5,"latency_ms":200,"operations":["TransactWriteItems"]}"#,
        )
        .unwrap();
        assert_eq!(ok.validate(), Ok(()));
        assert!(ok.applies_to("TransactWriteItems") && !ok.applies_to("GetItem"));
        assert!(Faults::default().applies_to("GetItem"));
        assert!(!Faults::default().is_active());
        for bad in [
            r#"{"throttle_percent":101}"#,
            r#"{"error_percent":-1}"#,
            r#"{"throttle_percent":60,"error_percent":50}"#,
            r#"{"latency_ms":60001}"#,
            r#"{"operations":["Get Item"]}"#,
            r#"{"operations":[""]}"#,
        ] {
            let faults: Faults = serde_json::from_str(bad).unwrap();
            assert!(faults.validate().is_err(), "{bad}");
        }
        for unparsable in [
            r#"{"throttle":10}"#,
            r#"{"throttle_error":"Nope"}"#,
            r#"{"latency_ms":-5}"#,
        ] {
            assert!(
                serde_json::from_str::<Faults>(unparsable).is_err(),
                "{unparsable}"
            );
        }
    }

    #[test]
    fn the_operation_comes_from_x_amz_target() {
        let mut headers = HeaderMap::new();
        assert_eq!(operation(&headers), "");
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.TransactWriteItems"),
        );
        assert_eq!(operation(&headers), "TransactWriteItems");
        headers.insert(
            "x-amz-target",
            HeaderValue::from_static("DynamoDB_20120810.Get../Item"),
        );
        assert_eq!(operation(&headers), "");
    }

    #[test]
    fn requests_without_an_operation_are_counted_by_method() {
        assert_eq!(http_name(&axum::http::Method::PUT), "HttpPut");
        assert_eq!(http_name(&axum::http::Method::DELETE), "HttpDelete");
    }
}
