//! A loopback HTTP server that turns each request into the API Gateway HTTP API (2.0)
//! event AWS would send, converts it as `lambda_http` does, hands it to a function handler,
//! and sends the answer back: so stripe-sim can deliver real HTTP webhooks to a handler
//! running in the test process.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};

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

fn to_response(answer: http::Response<String>) -> Response {
    let (parts, body) = answer.into_parts();
    let mut response = (parts.status, body).into_response();
    for (name, value) in parts.headers.iter() {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// Serves `handler` on a random loopback port until the returned [`Gateway`] is dropped.
pub async fn serve<H, F>(handler: H) -> Gateway
where
    H: Fn(lambda_http::Request) -> F + Send + Sync + 'static,
    F: Future<Output = http::Response<String>> + Send + 'static,
{
    let handler = Arc::new(handler);
    let app = axum::Router::new().fallback(move |request: Request| {
        let handler = handler.clone();
        async move {
            let (parts, body) = request.into_parts();
            let bytes: Bytes = axum::body::to_bytes(body, 6 * 1024 * 1024)
                .await
                .unwrap_or_default();
            let event = sample_events::aws::http_api_request_from(&parts, &bytes);
            to_response(handler(crate::lambda_request(&event)).await)
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
