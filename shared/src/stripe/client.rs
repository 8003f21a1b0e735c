//! The Stripe HTTP client: one per cold start, shared by every handler invocation.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::{ErrorEnvelope, StripeError};
use super::pace::{Host, Pacer};
use super::retry::{Kind, RetryPolicy, attempt_timeout, can_wait};
use crate::config::StripeSettings;
use crate::secret::Secret;

/// Per-call options, like the SDKs' request options.
///
/// `account` and `context` are exclusive: a request with both is refused before it is sent
/// (stripe-node refuses the same, docs/stripe.md §8.3).
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// `Stripe-Account`: act on a connected account (v1 APIs and the files host).
    pub account: Option<String>,
    /// `Stripe-Context`: the account context for v2 APIs and thin events.
    pub context: Option<String>,
    /// `Stripe-Version` for this call; previews and betas come from configuration.
    pub version: Option<String>,
    /// `Idempotency-Key`; when absent a POST gets a random one, reused across its retries.
    pub idempotency_key: Option<String>,
}

impl RequestOptions {
    pub fn account(account: impl Into<String>) -> Self {
        Self {
            account: Some(account.into()),
            ..Self::default()
        }
    }

    /// Acts in `context` (`Stripe-Context`), as v2 APIs expect.
    pub fn context(context: impl Into<String>) -> Self {
        Self {
            context: Some(context.into()),
            ..Self::default()
        }
    }

    /// The one account header this request carries, if any. Both at once is our mistake:
    /// Stripe's SDKs refuse it, and which one Stripe would honour is not documented.
    fn scope_header(&self) -> Result<Option<(&'static str, &str)>, StripeError> {
        match (&self.account, &self.context) {
            (Some(_), Some(_)) => Err(StripeError::NotSent(
                "both Stripe-Account and Stripe-Context were set; send exactly one \
                 (Stripe-Context for /v2 APIs, Stripe-Account for /v1)"
                    .into(),
            )),
            (Some(account), None) => Ok(Some(("Stripe-Account", account))),
            (None, Some(context)) => Ok(Some(("Stripe-Context", context))),
            (None, None) => Ok(None),
        }
    }

    /// What the logs show for the account acted on.
    fn scope_for_log(&self) -> &str {
        self.account
            .as_deref()
            .or(self.context.as_deref())
            .unwrap_or("")
    }

    pub fn with_version(mut self, version: impl Into<String>) -> Self {
        self.version = Some(version.into());
        self
    }

    pub fn with_idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }
}

/// A deterministic idempotency key for an effect triggered by something Stripe or S3 may
/// deliver more than once: the same trigger always yields the same key, so a retried
/// delivery replays Stripe's first answer instead of repeating the effect.
pub fn idempotency_key_for(purpose: &str, trigger_parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in trigger_parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let digest = hex::encode(hasher.finalize());
    format!("acb-{purpose}-{}", &digest[..40])
}

fn random_idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    bytes.iter_mut().for_each(|b| *b = fastrand::u8(..));
    format!("acb-{}", hex::encode(bytes))
}

enum Body {
    None,
    Form(String),
    Json(Value),
}

#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    api_base: String,
    files_base: String,
    secret_key: Secret,
    retry: RetryPolicy,
    settings: StripeSettings,
    /// This instance's share of the platform's request rate (none: unpaced).
    pacer: Pacer,
}

impl std::fmt::Debug for StripeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeClient")
            .field("api_base", &self.api_base)
            .field("files_base", &self.files_base)
            .field("secret_key", &self.secret_key)
            .finish()
    }
}

/// The HTTP client for Stripe, built once per cold start and shared by every
/// [`StripeClient`] (its connection pool is what warming fills).
pub fn http_client(settings: &StripeSettings) -> Result<reqwest::Client, StripeError> {
    reqwest::Client::builder()
        .timeout(settings.request_timeout)
        .connect_timeout(Duration::from_secs(3))
        .pool_idle_timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .user_agent(concat!(
            "agentic-commerce-bundle/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| StripeError::Network(format!("building the HTTP client: {e}")))
}

/// Opens a connection to Stripe (TLS handshake included) during init, so the first real
/// call of an invocation does not pay for it. Needs no key. Failures are only logged.
pub async fn warm_up(http: &reqwest::Client, settings: &StripeSettings) {
    let started = Instant::now();
    match http.head(format!("{}/v1", settings.api_base)).send().await {
        Ok(r) => tracing::debug!(
            status = r.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "stripe connection warmed"
        ),
        Err(e) => {
            tracing::warn!(error = %e.without_url(), "stripe warm-up failed; the first call will connect")
        }
    }
}

impl StripeClient {
    pub fn new(http: reqwest::Client, settings: &StripeSettings, secret_key: Secret) -> Self {
        Self {
            http,
            api_base: settings.api_base.clone(),
            files_base: settings.files_base.clone(),
            secret_key,
            retry: RetryPolicy::sdk_default(settings.max_network_retries),
            pacer: Pacer::new(settings.rate_limits),
            settings: settings.clone(),
        }
    }

    /// The settings the client was built from (per-API versions live there).
    pub fn settings(&self) -> &StripeSettings {
        &self.settings
    }

    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        options: &RequestOptions,
    ) -> Result<Value, StripeError> {
        self.send(Method::GET, Host::Api, path, query, Body::None, options)
            .await
    }

    /// A v1 POST with Stripe's form encoding (`expand[]=…`, `metadata[k]=v`).
    pub async fn post_form(
        &self,
        path: &str,
        form: &[(&str, &str)],
        options: &RequestOptions,
    ) -> Result<Value, StripeError> {
        let encoded = serde_urlencoded::to_string(form)
            .map_err(|e| StripeError::Network(format!("encoding the form: {e}")))?;
        self.send(
            Method::POST,
            Host::Api,
            path,
            &[],
            Body::Form(encoded),
            options,
        )
        .await
    }

    /// A v2 POST with a JSON body.
    pub async fn post_json(
        &self,
        path: &str,
        body: &Value,
        options: &RequestOptions,
    ) -> Result<Value, StripeError> {
        self.send(
            Method::POST,
            Host::Api,
            path,
            &[],
            Body::Json(body.clone()),
            options,
        )
        .await
    }

    /// A multipart upload to the files host (`POST /v1/files`), streaming `body` of
    /// `length` bytes. A stream cannot be replayed, so this makes one attempt; the caller
    /// retries the whole step later with the same idempotency key.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_file(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        filename: &str,
        content_type: &str,
        length: u64,
        body: reqwest::Body,
        options: &RequestOptions,
    ) -> Result<Value, StripeError> {
        let scope = options.scope_header()?;
        let part = reqwest::multipart::Part::stream_with_length(body, length)
            .file_name(filename.to_string())
            .mime_str(content_type)
            .map_err(|e| StripeError::Network(format!("content type {content_type:?}: {e}")))?;
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in fields {
            form = form.text(name.to_string(), value.to_string());
        }
        form = form.part("file", part);
        let key = options
            .idempotency_key
            .clone()
            .unwrap_or_else(random_idempotency_key);
        self.pacer
            .wait_turn(&Method::POST, Host::Files, path)
            .await?;
        // The whole file must go in one attempt: the per-call timeout would cut a large
        // one off, so the transfer gets what is left of the invocation's budget.
        let mut request = self
            .http
            .post(format!("{}{path}", self.files_base))
            .timeout(attempt_timeout(
                Kind::Transfer,
                self.settings.request_timeout,
            )?)
            .bearer_auth(self.secret_key.expose())
            .header("Idempotency-Key", key)
            .multipart(form);
        if let Some((name, value)) = scope {
            request = request.header(name, value);
        }
        if let Some(version) = &options.version {
            request = request.header("Stripe-Version", version);
        }
        let started = Instant::now();
        let response = request
            .send()
            .await
            .map_err(|e| StripeError::Network(e.without_url().to_string()))?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        tracing::info!(
            method = "POST",
            path,
            status = status.as_u16(),
            request_id = request_id.as_deref().unwrap_or(""),
            account = options.scope_for_log(),
            bytes = length,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "stripe upload"
        );
        let bytes = response
            .bytes()
            .await
            .map_err(|e| StripeError::Network(e.without_url().to_string()))?;
        parse_response(status, &bytes, request_id)
    }

    /// `PUT`s `body` to a v2 import's upload URL. The URL is pre-signed: no key is sent.
    pub async fn put_upload_url(
        &self,
        url: &str,
        content_type: &str,
        length: u64,
        body: reqwest::Body,
    ) -> Result<(), StripeError> {
        let response = self
            .http
            .put(url)
            .timeout(attempt_timeout(
                Kind::Transfer,
                self.settings.request_timeout,
            )?)
            .header("Content-Type", content_type)
            .header("Content-Length", length)
            .body(body)
            .send()
            .await
            .map_err(|e| StripeError::Network(e.without_url().to_string()))?;
        let status = response.status();
        tracing::info!(
            status = status.as_u16(),
            bytes = length,
            "catalog file uploaded to its upload URL"
        );
        if status.is_success() {
            return Ok(());
        }
        let bytes = response.bytes().await.unwrap_or_default();
        parse_response(status, &bytes, None).map(|_| ())
    }

    /// Downloads bytes: a path on the files host (with the key), or an absolute URL. The
    /// key goes only to Stripe's own configured hosts, never to a URL taken from a payload.
    pub async fn download(
        &self,
        path_or_url: &str,
        options: &RequestOptions,
    ) -> Result<reqwest::Response, StripeError> {
        let scope = options.scope_header()?;
        let (url, ours) = if path_or_url.starts_with('/') {
            (format!("{}{path_or_url}", self.files_base), true)
        } else {
            let ours = [&self.files_base, &self.api_base]
                .iter()
                .any(|base| path_or_url.starts_with(&format!("{base}/")));
            (path_or_url.to_string(), ours)
        };
        let mut request = self.http.get(&url).timeout(attempt_timeout(
            Kind::Transfer,
            self.settings.request_timeout,
        )?);
        if ours {
            let path = url.splitn(4, '/').nth(3).map_or("/", |p| p);
            self.pacer
                .wait_turn(&Method::GET, Host::Files, &format!("/{path}"))
                .await?;
            request = request.bearer_auth(self.secret_key.expose());
            if let Some((name, value)) = scope {
                request = request.header(name, value);
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| StripeError::Network(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let request_id = response
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = response.bytes().await.unwrap_or_default();
        match parse_response(status, &bytes, request_id) {
            Err(e) => Err(e),
            Ok(_) => Err(StripeError::Decode {
                status: status.as_u16(),
                message: "download failed".into(),
                request_id: None,
            }),
        }
    }

    async fn send(
        &self,
        method: Method,
        host: Host,
        path: &str,
        query: &[(&str, &str)],
        body: Body,
        options: &RequestOptions,
    ) -> Result<Value, StripeError> {
        let scope = options.scope_header()?;
        let base = match host {
            Host::Api => &self.api_base,
            Host::Files => &self.files_base,
        };
        let url = format!("{base}{path}");
        // One key for the logical request, reused by every retry of it.
        let idempotency_key = (method == Method::POST).then(|| {
            options
                .idempotency_key
                .clone()
                .unwrap_or_else(random_idempotency_key)
        });

        let mut attempt = 0u32;
        loop {
            // Every attempt counts against Stripe's limits, retries included.
            self.pacer.wait_turn(&method, host, path).await?;
            let timeout = attempt_timeout(Kind::Call, self.settings.request_timeout)?;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .timeout(timeout)
                .bearer_auth(self.secret_key.expose())
                .query(query);
            if let Some((name, value)) = scope {
                request = request.header(name, value);
            }
            if let Some(version) = &options.version {
                request = request.header("Stripe-Version", version);
            }
            if let Some(key) = &idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if attempt > 0 {
                request = request.header("X-Stripe-Client-Retry-Count", attempt.to_string());
            }
            request = match &body {
                Body::None => request,
                Body::Form(form) => request
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form.clone()),
                Body::Json(json) => request.json(json),
            };

            let started = Instant::now();
            let outcome = request.send().await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match outcome {
                Err(error) => {
                    // reqwest errors can carry the URL but never our headers, so no key leaks.
                    tracing::warn!(%method, path, attempt, elapsed_ms, error = %error, "stripe request failed");
                    if self.retry.should_retry(attempt, None, None) {
                        let delay = self.retry.delay(attempt + 1, None, fastrand::f64());
                        if can_wait(delay) {
                            attempt += 1;
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                        tracing::warn!(%method, path, attempt, "not retried: the invocation's time budget is spent");
                    }
                    return Err(StripeError::Network(error.without_url().to_string()));
                }
                Ok(response) => {
                    let status = response.status();
                    let header = |name: &str| {
                        response
                            .headers()
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string)
                    };
                    let request_id = header("request-id");
                    let should_retry = header("stripe-should-retry");
                    let retry_after = header("retry-after")
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    tracing::info!(
                        %method, path, status = status.as_u16(), request_id = request_id.as_deref().unwrap_or(""),
                        account = options.scope_for_log(), attempt, elapsed_ms,
                        "stripe request"
                    );
                    if !status.is_success()
                        && self.retry.should_retry(
                            attempt,
                            Some(status.as_u16()),
                            should_retry.as_deref(),
                        )
                    {
                        let delay = self.retry.delay(attempt + 1, retry_after, fastrand::f64());
                        if can_wait(delay) {
                            attempt += 1;
                            tokio::time::sleep(delay).await;
                            continue;
                        }
                        tracing::warn!(%method, path, attempt, delay_ms = delay.as_millis() as u64, "not retried: the invocation's time budget is spent");
                    }
                    let bytes = response
                        .bytes()
                        .await
                        .map_err(|e| StripeError::Network(e.without_url().to_string()))?;
                    return parse_response(status, &bytes, request_id);
                }
            }
        }
    }
}

fn parse_response(
    status: StatusCode,
    bytes: &[u8],
    request_id: Option<String>,
) -> Result<Value, StripeError> {
    if status.is_success() {
        return serde_json::from_slice(bytes).map_err(|e| StripeError::Decode {
            status: status.as_u16(),
            message: e.to_string(),
            request_id,
        });
    }
    match serde_json::from_slice::<ErrorEnvelope>(bytes) {
        Ok(envelope) => Err(StripeError::Api {
            status: status.as_u16(),
            body: Box::new(envelope.error),
            request_id,
        }),
        Err(_) => Err(StripeError::Decode {
            status: status.as_u16(),
            message: format!("non-JSON error body of {} bytes", bytes.len()),
            request_id,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_deterministic_and_distinct() {
        let a = idempotency_key_for("refund", &["evt_1", "pi_1"]);
        assert_eq!(a, idempotency_key_for("refund", &["evt_1", "pi_1"]));
        assert_ne!(a, idempotency_key_for("refund", &["evt_1", "pi_2"]));
        assert_ne!(a, idempotency_key_for("capture", &["evt_1", "pi_1"]));
        // Length-prefixed parts: shifting a boundary changes the key.
        assert_ne!(
            idempotency_key_for("x", &["ab", "c"]),
            idempotency_key_for("x", &["a", "bc"])
        );
        assert!(a.len() <= 255);
    }

    #[test]
    fn one_account_header_at_most() {
        let both = RequestOptions {
            account: Some("acct_1".into()),
            ..RequestOptions::context("acct_1")
        };
        let err = both.scope_header().unwrap_err();
        assert!(matches!(err, StripeError::NotSent(_)), "{err:?}");
        assert!(!err.is_transient());
        assert_eq!(
            RequestOptions::context("acct_1").scope_header().unwrap(),
            Some(("Stripe-Context", "acct_1"))
        );
        assert_eq!(
            RequestOptions::account("acct_1").scope_header().unwrap(),
            Some(("Stripe-Account", "acct_1"))
        );
        assert_eq!(RequestOptions::default().scope_header().unwrap(), None);
    }

    #[test]
    fn error_bodies_are_typed() {
        let body = br#"{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such checkout.session: 'cs_x'","param":"id"}}"#;
        let err = parse_response(StatusCode::NOT_FOUND, body, Some("req_1".into())).unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(err.code(), Some("resource_missing"));
        assert!(!err.is_transient());
        assert!(err.to_string().contains("req_1"));
        let err = parse_response(StatusCode::BAD_GATEWAY, b"<html>", None).unwrap_err();
        assert!(err.is_transient());
    }
}
