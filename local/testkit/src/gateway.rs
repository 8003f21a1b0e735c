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
            let event = shared::aws_events::api_gateway_request_from_http(&parts, &bytes);
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
