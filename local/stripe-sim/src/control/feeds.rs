//! Control endpoints for catalog feeds: the v2 upload and error-file URLs (pre-signed on
//! Stripe, so no API key here), the per-account catalog, forced completion and failure of
//! imports, the thin-event destination, and error-file URL expiry.

use super::{ControlResult, dispatch, ok, parse};
use crate::body::{self, ReadError};
use crate::catalog;
use crate::checkout::parse_account;
use crate::errors::ApiError;
use crate::state::imports::{Content, Failure, ImportState, Outcome};
use crate::state::{Scope, Sim};
use crate::webhooks::{self, DeliveryOverrides};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Errors of the pre-signed URLs look like the object store behind them, not like Stripe.
fn storage_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml"),
    );
    response
}

fn expired() -> Response {
    storage_error(StatusCode::FORBIDDEN, "AccessDenied", "Request has expired")
}

/// Why an upload URL cannot take a file.
enum Refusal {
    Unknown,
    Expired,
    AlreadyUploaded,
}

impl Refusal {
    fn response(self) -> Response {
        match self {
            Refusal::Unknown => storage_error(
                StatusCode::NOT_FOUND,
                "NoSuchUpload",
                "The specified upload does not exist.",
            ),
            Refusal::Expired => expired(),
            Refusal::AlreadyUploaded => storage_error(
                StatusCode::CONFLICT,
                "UploadAlreadyCompleted",
                "A file was already uploaded to this URL; create a new import to upload again.",
            ),
        }
    }
}

/// Which import an upload token belongs to, if it may still be used.
fn upload_target(sim: &Sim, token: &str) -> Result<String, Refusal> {
    let store = sim.lock();
    let import = store
        .catalog
        .uploads
        .get(token)
        .and_then(|id| store.catalog.imports.get(id))
        .ok_or(Refusal::Unknown)?;
    if import
        .upload
        .as_ref()
        .is_some_and(|u| Instant::now() >= u.expires)
    {
        return Err(Refusal::Expired);
    }
    if !matches!(import.state, ImportState::AwaitingUpload) {
        return Err(Refusal::AlreadyUploaded);
    }
    Ok(import.id.clone())
}

/// `PUT /_sim/uploads/{token}`: the raw file of a v2 import; starts its processing.
pub async fn upload(
    State(sim): State<Arc<Sim>>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = match upload_target(&sim, &token) {
        Ok(id) => id,
        Err(refusal) => return refusal.response(),
    };
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bytes = match body::read_limited(body, sim.config.max_upload_bytes, content_length).await {
        Ok(bytes) => bytes,
        Err(ReadError::TooLarge { .. }) => {
            return storage_error(
                StatusCode::BAD_REQUEST,
                "EntityTooLarge",
                &format!(
                    "Your proposed upload exceeds the maximum allowed size of {} bytes.",
                    sim.config.max_upload_bytes
                ),
            );
        }
        Err(ReadError::Broken(reason)) => {
            return storage_error(StatusCode::BAD_REQUEST, "IncompleteBody", &reason);
        }
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32]);
    let size = bytes.len();
    let events = {
        let mut store = sim.lock();
        // Checked again: another PUT may have won while this body was arriving.
        let Some(import) = store.catalog.imports.get_mut(&id) else {
            return Refusal::Unknown.response();
        };
        if !matches!(import.state, ImportState::AwaitingUpload) {
            return Refusal::AlreadyUploaded.response();
        }
        catalog::start_processing(
            import,
            Content::new(bytes, content_type),
            Duration::from_millis(sim.config.processing_delay_ms),
        );
        let scope = import.scope.clone();
        vec![catalog::emit_import_event(
            &mut store,
            &scope,
            &id,
            "processing",
        )]
    };
    tracing::info!(import = %id, size, "catalog file uploaded");
    webhooks::spawn(&sim, events, sim.config.delivery.clone());
    catalog::schedule(&sim, id);
    let mut response = StatusCode::OK.into_response();
    if let Ok(value) = HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}

/// `GET /_sim/error_files/{token}`: a v2 import's error file while its URL is fresh.
pub async fn error_file(State(sim): State<Arc<Sim>>, Path(token): Path<String>) -> Response {
    let store = sim.lock();
    let Some(url) = store.catalog.downloads.get(&token) else {
        return storage_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        );
    };
    if Instant::now() >= url.expires {
        return expired();
    }
    let report = store
        .catalog
        .imports
        .get(&url.import_id)
        .and_then(|import| match &import.state {
            ImportState::Done(Outcome::SucceededWithErrors(_, report)) => Some(report.clone()),
            _ => None,
        });
    drop(store);
    match report {
        None => storage_error(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        ),
        Some(report) => {
            let mut response = (StatusCode::OK, report.bytes).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(report.content_type),
            );
            response
        }
    }
}

fn scope_of(account: &str) -> Result<Scope, ApiError> {
    if account == "platform" {
        Ok(None)
    } else {
        parse_account(Some(account))
    }
}

/// `GET /_sim/catalog/{account}` (`platform` for the platform's own): what Stripe
/// accepted so far. Imports whose delay has passed finish first.
pub async fn catalog(State(sim): State<Arc<Sim>>, Path(account): Path<String>) -> ControlResult {
    let scope = scope_of(&account)?;
    let (value, events) = {
        let mut store = sim.lock();
        let events = catalog::settle_scope(&mut store, &sim.config, &scope);
        (catalog::catalog_json(&store.catalog, &scope), events)
    };
    webhooks::spawn(&sim, events, sim.config.delivery.clone());
    ok(value)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FinishRequest {
    #[serde(default)]
    code: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    deliver: Option<bool>,
    #[serde(default)]
    delivery: Option<DeliveryOverrides>,
    #[serde(default)]
    wait_for_delivery: bool,
}

async fn finish_import(
    sim: Arc<Sim>,
    id: String,
    body: axum::body::Bytes,
    fail: bool,
) -> ControlResult {
    let req: FinishRequest = parse(&body)?;
    if !fail && (req.code.is_some() || req.kind.is_some() || req.message.is_some()) {
        return Err(ApiError::invalid(
            "code, type and message only apply to /fail.",
        ));
    }
    let (import, events) = {
        let mut store = sim.lock();
        let import = store
            .catalog
            .imports
            .get(&id)
            .ok_or_else(|| ApiError::no_such("import", &id, "id"))?;
        let allowed = match import.state {
            ImportState::Processing { .. } => true,
            ImportState::AwaitingUpload => fail,
            ImportState::Done(_) => false,
        };
        if !allowed {
            let status = catalog::import_json(&mut store.catalog, &id, &sim.base_url)
                .map(|v| v["status"].as_str().unwrap_or("").to_string())
                .unwrap_or_default();
            return Err(ApiError::invalid(format!(
                "Import {id} is {status}: only an import that is processing can be {}.",
                if fail { "failed" } else { "completed" }
            )));
        }
        let failure = fail.then(|| Failure {
            code: req.code.clone().unwrap_or_else(|| "internal_error".into()),
            kind: req
                .kind
                .clone()
                .unwrap_or_else(|| "transient_failure".into()),
            message: req
                .message
                .clone()
                .unwrap_or_else(|| "The import failed (forced by stripe-sim).".into()),
        });
        let events = catalog::finish(&mut store, &sim.config, &id, failure);
        (
            catalog::import_json(&mut store.catalog, &id, &sim.base_url),
            events,
        )
    };
    dispatch(
        &sim,
        events.clone(),
        req.deliver,
        req.delivery.as_ref(),
        req.wait_for_delivery,
    )
    .await;
    ok(json!({ "import": import, "events": events }))
}

/// `POST /_sim/imports/{id}/complete`: finish a processing import now, out of order.
pub async fn complete(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ControlResult {
    finish_import(sim, id, body, false).await
}

/// `POST /_sim/imports/{id}/fail`: fail an import that has not finished.
pub async fn fail(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ControlResult {
    finish_import(sim, id, body, true).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointRequest {
    url: Option<String>,
    #[serde(default)]
    secret: Option<String>,
}

/// `POST /_sim/thin_event_endpoint {url, secret?}`: where thin events go (null disables).
pub async fn set_thin_endpoint(
    State(sim): State<Arc<Sim>>,
    body: axum::body::Bytes,
) -> ControlResult {
    let req: EndpointRequest = parse(&body)?;
    if let Some(url) = &req.url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(ApiError::invalid_param(
                "url",
                "url must be an http:// or https:// URL.",
            ));
        }
    }
    let mut store = sim.lock();
    store.thin_webhook.url = req.url.clone();
    if let Some(secret) = req.secret {
        store.thin_webhook.secret = secret;
    }
    ok(json!({ "url": req.url }))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct DownloadSettings {
    #[serde(default)]
    ttl_ms: Option<u64>,
    #[serde(default)]
    expired_next: Option<u32>,
    #[serde(default)]
    expire_existing: bool,
}

/// `POST /_sim/error_file_urls {ttl_ms?, expired_next?, expire_existing?}`: the lifetime
/// of error-file URLs minted from now on, how many of the next ones come out already
/// expired (a client's re-fetch path in one pass), and expiry of those handed out.
pub async fn error_file_urls(
    State(sim): State<Arc<Sim>>,
    body: axum::body::Bytes,
) -> ControlResult {
    let req: DownloadSettings = parse(&body)?;
    let mut store = sim.lock();
    if let Some(ttl) = req.ttl_ms {
        store.catalog.download_ttl = Duration::from_millis(ttl);
    }
    if let Some(n) = req.expired_next {
        store.catalog.expired_downloads = n;
    }
    let expired = if req.expire_existing {
        store.catalog.expire_downloads()
    } else {
        0
    };
    ok(json!({
        "ttl_ms": store.catalog.download_ttl.as_millis() as u64,
        "expired_next": store.catalog.expired_downloads,
        "expired": expired,
    }))
}
