//! Secrets through the Parameters and Secrets Lambda Extension: a fake extension on
//! loopback answers like the real one (`GET /secretsmanager/get?secretId=…` with the
//! session token header), and the configuration is read from its document.

use serde_json::json;
use shared::config::{Env, WebhooksSecrets};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one canned HTTP answer per connection and reports each request's head.
async fn fake_extension(
    status: &'static str,
    body: String,
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen, requests) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = vec![0u8; 8192];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let _ = seen.send(String::from_utf8_lossy(&buf[..n]).to_string());
            let answer = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (port, requests)
}

fn base_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        (
            "SECRETS_ID",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:acb-AbCd".into(),
        ),
        ("AWS_SESSION_TOKEN", "session-token-123".into()),
        ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string()),
        ("ORDERS_TABLE", "orders".into()),
        ("IDEMPOTENCY_TABLE", "idem".into()),
    ]
}

#[tokio::test]
async fn secrets_come_from_the_extension() {
    let document = json!({"STRIPE_SECRET_KEY": "sk_test_fromSecretsManager123", "STRIPE_WEBHOOK_SECRETS": "whsec_a,whsec_b"}).to_string();
    let (port, mut requests) = fake_extension(
        "200 OK",
        json!({"Name": "acb", "SecretString": document}).to_string(),
    )
    .await;
    let env = Env::from_map(base_env(port))
        .with_secrets_document()
        .await
        .unwrap();
    let secrets = WebhooksSecrets::from_env(&env, false).unwrap();
    assert_eq!(
        secrets.stripe_secret_key.expose(),
        "sk_test_fromSecretsManager123"
    );
    assert_eq!(secrets.webhook_secrets.len(), 2);
    let request = requests.recv().await.unwrap().to_ascii_lowercase();
    assert!(
        request.starts_with("get /secretsmanager/get?secretid=arn%3aaws%3asecretsmanager"),
        "{request}"
    );
    assert!(
        request.contains("x-aws-parameters-secrets-token: session-token-123"),
        "{request}"
    );
}

#[tokio::test]
async fn an_unfilled_secret_names_the_missing_value() {
    let document = json!({"STRIPE_SECRET_KEY": "", "STRIPE_WEBHOOK_SECRETS": ""}).to_string();
    let (port, _) = fake_extension("200 OK", json!({"SecretString": document}).to_string()).await;
    let env = Env::from_map(base_env(port))
        .with_secrets_document()
        .await
        .unwrap();
    let err = WebhooksSecrets::from_env(&env, false).unwrap_err();
    assert!(err.to_string().contains("STRIPE_SECRET_KEY"), "{err}");
}

#[tokio::test]
async fn an_extension_error_fails_start_up_clearly() {
    let (port, _) = fake_extension(
        "400 Bad Request",
        r#"{"message":"not authorized"}"#.to_string(),
    )
    .await;
    let err = Env::from_map(base_env(port))
        .with_secrets_document()
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("secrets") && message.contains("400"),
        "{message}"
    );
}
