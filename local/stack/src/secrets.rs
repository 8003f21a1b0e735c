//! The AWS Parameters and Secrets Lambda Extension, locally: the functions read each Stripe
//! secret they are given (`<NAME>_SECRET_ID`, one secret per value) through it exactly as in
//! AWS, and get the local test values. A secret no function names is not served.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::json;

struct Extension {
    session_token: String,
    /// Secret id (as the template's `Ref` resolves it locally) to its plain string value.
    secrets: BTreeMap<String, String>,
}

/// The secrets to serve: for every `<NAME>_SECRET_ID` variable of the functions'
/// environments, that secret id with `values[NAME]`. A name without a local value is an error,
/// so a secret added to the template is not silently left unserved.
pub fn secrets_to_serve<'a>(
    environments: impl IntoIterator<Item = &'a BTreeMap<String, String>>,
    values: &HashMap<&str, &str>,
) -> Result<BTreeMap<String, String>, String> {
    let mut secrets = BTreeMap::new();
    for environment in environments {
        for (variable, secret_id) in environment {
            let Some(name) = variable.strip_suffix("_SECRET_ID") else {
                continue;
            };
            let value = values
                .get(name)
                .ok_or_else(|| format!("{variable}: no local value for the secret {name}"))?;
            secrets.insert(secret_id.clone(), value.to_string());
        }
    }
    Ok(secrets)
}

/// Serves the extension on a loopback port; returns the port.
pub async fn serve(session_token: &str, secrets: BTreeMap<String, String>) -> std::io::Result<u16> {
    let state = Arc::new(Extension {
        session_token: session_token.to_string(),
        secrets,
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
    let secret_id = query.get("secretId").map(String::as_str).unwrap_or("");
    let Some(value) = extension.secrets.get(secret_id) else {
        return (
            StatusCode::BAD_REQUEST,
            json!({"__type": "ResourceNotFoundException", "message": "Secrets Manager can't find the specified secret."}).to_string(),
        );
    };
    (
        StatusCode::OK,
        json!({
            "ARN": secret_id,
            "Name": secret_id,
            "SecretString": value,
            "VersionId": "local",
            "VersionStages": ["AWSCURRENT"]
        })
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_named_secret_is_served_with_its_own_value() {
        let webhooks = BTreeMap::from([
            (
                "STRIPE_SECRET_KEY_SECRET_ID".to_string(),
                "arn:key".to_string(),
            ),
            (
                "STRIPE_WEBHOOK_SECRETS_SECRET_ID".to_string(),
                "arn:webhooks".to_string(),
            ),
            ("ORDERS_TABLE".to_string(), "t".to_string()),
        ]);
        let hooks = BTreeMap::from([(
            "STRIPE_HOOK_SECRETS_SECRET_ID".to_string(),
            "arn:hooks".to_string(),
        )]);
        let values = HashMap::from([
            ("STRIPE_SECRET_KEY", "sk_test_local"),
            ("STRIPE_WEBHOOK_SECRETS", "whsec_w"),
            ("STRIPE_HOOK_SECRETS", "whsec_h"),
            ("STRIPE_THIN_EVENT_SECRETS", "whsec_t"),
        ]);
        let served = secrets_to_serve([&webhooks, &hooks], &values).unwrap();
        assert_eq!(
            served,
            BTreeMap::from([
                ("arn:hooks".to_string(), "whsec_h".to_string()),
                ("arn:key".to_string(), "sk_test_local".to_string()),
                ("arn:webhooks".to_string(), "whsec_w".to_string()),
            ])
        );
        let unknown = BTreeMap::from([("OTHER_SECRET_ID".to_string(), "arn:x".to_string())]);
        assert!(
            secrets_to_serve([&unknown], &values)
                .unwrap_err()
                .contains("OTHER_SECRET_ID")
        );
    }
}
