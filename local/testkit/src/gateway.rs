//! A loopback HTTP server that turns each request into the API Gateway HTTP API (2.0)
//! event AWS would send, hands it to a function handler, and maps the answer back: so
//! stripe-sim can deliver real HTTP webhooks to a handler running in the test process.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use axum::body::Bytes;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;

pub struct Gateway {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Gateway {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Builds the API Gateway v2 event for a request, as AWS would: lower-cased headers,
/// base64 for bodies that are not UTF-8 text.
pub fn to_apigw_event(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> ApiGatewayV2httpRequest {
    let (body_text, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let header_map: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
        .collect();
    let now_ms = crate::now_seconds() * 1000;
    serde_json::from_value(json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": ""},
            "requestId": format!("local-{:016x}", fastrand::u64(..)), "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "", "timeEpoch": now_ms
        },
        "body": body_text,
        "isBase64Encoded": is_base64
    }))
    .expect("a well-formed API Gateway v2 event")
}

fn to_response(answer: ApiGatewayV2httpResponse) -> Response {
    let status = axum::http::StatusCode::from_u16(answer.status_code as u16)
        .unwrap_or(axum::http::StatusCode::BAD_GATEWAY);
    let body = match answer.body {
        Some(Body::Text(text)) => text.into_bytes(),
        Some(Body::Binary(bytes)) => bytes,
        _ => Vec::new(),
    };
    let mut response = (status, body).into_response();
    for (name, value) in answer.headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// Serves `handler` on a random loopback port until the returned [`Gateway`] is dropped.
pub async fn serve<H, F>(handler: H) -> Gateway
where
    H: Fn(ApiGatewayV2httpRequest) -> F + Send + Sync + 'static,
    F: Future<Output = ApiGatewayV2httpResponse> + Send + 'static,
{
    let handler = Arc::new(handler);
    let app = axum::Router::new().fallback(move |request: Request| {
        let handler = handler.clone();
        async move {
            let (parts, body) = request.into_parts();
            let bytes: Bytes = axum::body::to_bytes(body, 6 * 1024 * 1024)
                .await
                .unwrap_or_default();
            let headers: Vec<(String, String)> = parts
                .headers
                .iter()
                .filter_map(|(k, v)| {
                    v.to_str()
                        .ok()
                        .map(|v| (k.as_str().to_string(), v.to_string()))
                })
                .collect();
            let event = to_apigw_event(
                parts.method.as_str(),
                parts.uri.path(),
                parts.uri.query().unwrap_or(""),
                &headers,
                &bytes,
            );
            to_response(handler(event).await)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Gateway { addr, task }
}
