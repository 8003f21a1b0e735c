//! Secrets through the Parameters and Secrets Lambda Extension: a fake extension on
//! loopback answers like the real one (`GET /secretsmanager/get?secretId=…` with the
//! session token header), one secret per value, and the configuration reads each one it is
//! given by its `<NAME>_SECRET_ID` variable.

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
            "STRIPE_SECRET_KEY_SECRET_ID",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:acb/stripe-secret-key-AbCd"
                .into(),
        ),
        (
            "STRIPE_WEBHOOK_SECRETS_SECRET_ID",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:acb/stripe-webhook-secrets-EfGh"
                .into(),
        ),
        ("AWS_SESSION_TOKEN", "session-token-123".into()),
        ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string()),
        ("ORDERS_TABLE", "orders".into()),
        ("IDEMPOTENCY_TABLE", "idem".into()),
    ]
}

/// Answers each `secretId` with its own plain SecretString, as Secrets Manager does.
async fn per_secret_extension(
    values: &'static [(&'static str, &'static str)],
) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (seen, requests) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let _ = seen.send(head.clone());
                let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let found = values
                    .iter()
                    .find(|(fragment, _)| target.contains(fragment));
                let (status, body) = match found {
                    Some((_, value)) => ("200 OK", json!({"Name": "x", "SecretString": value}).to_string()),
                    None => (
                        "400 Bad Request",
                        json!({"__type": "ResourceNotFoundException", "Message": "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT"}).to_string(),
                    ),
                };
                let answer = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, requests)
}

#[tokio::test]
async fn each_secret_comes_from_its_own_secret_through_the_extension() {
    let (port, mut requests) = per_secret_extension(&[
        ("stripe-secret-key", "sk_test_fromSecretsManager123"),
        ("stripe-webhook-secrets", "whsec_a,whsec_b"),
    ])
    .await;
    let env = Env::from_map(base_env(port)).with_deployed_secrets().await;
    let secrets = WebhooksSecrets::from_env(&env, false).unwrap();
    assert_eq!(
        secrets.stripe_secret_key.expose(),
        "sk_test_fromSecretsManager123"
    );
    assert_eq!(secrets.webhook_secrets.len(), 2);
    let mut heads = vec![
        requests.recv().await.unwrap().to_ascii_lowercase(),
        requests.recv().await.unwrap().to_ascii_lowercase(),
    ];
    heads.sort();
    assert!(
        heads[0].starts_with("get /secretsmanager/get?secretid=arn%3aaws%3asecretsmanager")
            && heads[0].contains("stripe-secret-key")
            && heads[1].contains("stripe-webhook-secrets"),
        "one request per secret: {heads:?}"
    );
    for head in &heads {
        assert!(
            head.contains("x-aws-parameters-secrets-token: session-token-123"),
            "{head}"
        );
    }
    assert!(
        requests.try_recv().is_err(),
        "secrets the function is not given are never asked for"
    );
}

#[tokio::test]
async fn an_unfilled_secret_names_the_missing_value() {
    // The template creates each secret empty: Secrets Manager has no value to return yet.
    let (port, _) =
        per_secret_extension(&[("stripe-secret-key", "sk_test_fromSecretsManager123")]).await;
    let env = Env::from_map(base_env(port)).with_deployed_secrets().await;
    let err = WebhooksSecrets::from_env(&env, false).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("STRIPE_WEBHOOK_SECRETS")
            && message.contains("stripe-webhook-secrets")
            && message.contains("put-secret-value"),
        "{message}"
    );
    assert!(
        !message.contains("AWSCURRENT"),
        "the extension's body is not repeated: {message}"
    );
    // An empty string counts as not set.
    let (port, _) = per_secret_extension(&[
        ("stripe-secret-key", " "),
        ("stripe-webhook-secrets", "whsec_a"),
    ])
    .await;
    let env = Env::from_map(base_env(port)).with_deployed_secrets().await;
    let err = WebhooksSecrets::from_env(&env, false).unwrap_err();
    assert!(err.to_string().contains("STRIPE_SECRET_KEY"), "{err}");
}

#[tokio::test]
async fn an_extension_error_names_the_secret_and_never_its_value() {
    let (port, _) = fake_extension(
        "500 Internal Server Error",
        // Key-shaped values are assembled, so none is committed as a literal.
        format!(
            r#"{{"message":"{}leakedInAnErrorBody1234"}}"#,
            concat!("sk_", "live_")
        ),
    )
    .await;
    let env = Env::from_map(base_env(port)).with_deployed_secrets().await;
    let message = WebhooksSecrets::from_env(&env, false)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("STRIPE_SECRET_KEY") && message.contains("500"),
        "{message}"
    );
    assert!(!message.contains("leakedInAnErrorBody"), "{message}");
}

#[tokio::test]
async fn a_secret_value_never_appears_in_an_error() {
    // A key of the wrong mode, read from Secrets Manager: refused by name, value masked.
    let (port, _) = fake_extension(
        "200 OK",
        json!({"SecretString": concat!("sk_", "live_", "fromSecretsManagerSecret9876")})
            .to_string(),
    )
    .await;
    let env = Env::from_map(base_env(port)).with_deployed_secrets().await;
    let message = WebhooksSecrets::from_env(&env, false)
        .unwrap_err()
        .to_string();
    assert!(message.contains("STRIPE_SECRET_KEY"), "{message}");
    assert!(!message.contains("fromSecretsManagerSecret"), "{message}");
}
