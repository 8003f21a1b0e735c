//! The AWS Parameters and Secrets Lambda Extension, locally: the functions read the Stripe
//! secrets document (`SECRETS_ID`) through it exactly as in AWS, and get the local test values.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};

struct Extension {
    secret_id: String,
    session_token: String,
    secret_string: String,
}

/// Serves the extension on a loopback port; returns the port.
pub async fn serve(secret_id: &str, session_token: &str, document: &Value) -> std::io::Result<u16> {
    let state = Arc::new(Extension {
        secret_id: secret_id.to_string(),
        session_token: session_token.to_string(),
        secret_string: document.to_string(),
    });
    let app = axum::Router::new()
        .route("/secretsmanager/get", axum::routing::get(get_secret))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(port)
}

async fn get_secret(
    State(extension): State<Arc<Extension>>,
    headers: HeaderMap,
    Query(query): Query<std::collections::HashMap<String, String>>,
) -> impl IntoResponse {
    let token = headers
        .get("x-aws-parameters-secrets-token")
        .and_then(|v| v.to_str().ok());
    if token != Some(extension.session_token.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            json!({"message": "not authorized"}).to_string(),
        );
    }
    if query.get("secretId") != Some(&extension.secret_id) {
        return (
            StatusCode::BAD_REQUEST,
            json!({"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."}).to_string(),
        );
    }
    (
        StatusCode::OK,
        json!({
            "ARN": extension.secret_id,
            "Name": extension.secret_id,
            "SecretString": extension.secret_string,
            "VersionId": "local",
            "VersionStages": ["AWSCURRENT"]
        })
        .to_string(),
    )
}
