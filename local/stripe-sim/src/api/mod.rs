//! The `/v1` and `/v2` surfaces: one entry point that does what every Stripe request goes
//! through (auth, account scope, parameter decoding, injected faults, idempotency,
//! `Request-Id`) and then a resource handler from the modules below.
//!
//! Parameters arrive form-encoded (v1), as `multipart/form-data` (`POST /v1/files`) or as
//! JSON (v2 POSTs); all three end up as the same [`Params`] tree.
//!
//! Routing is done by hand (the table in `endpoints`) rather than with axum's router so that
//! every miss, bad body or wrong method still answers with a Stripe-shaped error.

mod account_sessions;
mod agreements;
mod auth;
mod charges;
mod checkout_sessions;
mod disputes;
mod endpoints;
mod files;
mod import_sets;
mod payment_intents;
mod product_catalog;
mod refunds;

use crate::errors::{ApiError, json_bytes};
use crate::form::Params;
use crate::idempotency::{self, Begin};
use crate::state::events::RequestInfo;
use crate::state::idempotency::{Fingerprint, IdemKey, StoredResponse};
use crate::state::{Scope, Sim};
use crate::versions::{self, Version};
use crate::{control, faults, ids};
use axum::Router;
use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use endpoints::Route;
use serde_json::Value;
use std::sync::Arc;

/// Stripe's own request size limit is far larger than anything this bundle sends; this
/// only bounds memory.
const MAX_BODY_BYTES: usize = 1 << 20;
const REQUEST_ID: HeaderName = HeaderName::from_static("request-id");

pub type ApiResult = Result<Value, ApiError>;

/// What a handler answers with: a JSON object, or raw bytes (file contents).
pub enum Reply {
    Json(Value),
    Raw { content_type: String, body: Bytes },
}

/// What a resource handler gets: the scope it acts in and the decoded parameters.
pub struct Ctx {
    pub sim: Arc<Sim>,
    pub scope: Scope,
    pub params: Params,
    /// Reported in `event.request` for events this request causes.
    pub request: RequestInfo,
    /// The `Stripe-Version` header as sent (betas are flags in it).
    pub stripe_version: Option<String>,
    /// The `file` part of a multipart upload.
    pub upload: Option<files::Upload>,
}

impl Ctx {
    pub fn api_version(&self) -> &str {
        &self.sim.config.api_version
    }

    /// The version this request runs on: its `Stripe-Version`, else the account's default
    /// (the configured `api_version`), as Stripe does.
    pub fn version(&self) -> Result<Version<'_>, ApiError> {
        let sent = self.stripe_version.as_deref().unwrap_or(self.api_version());
        versions::parse(sent).ok_or_else(|| {
            ApiError::invalid(format!(
                "stripe-sim: `{sent}` is not a Stripe-Version (expected `YYYY-MM-DD.name`, optionally followed by `; flag=vN` beta parts)."
            ))
            .not_replayable()
        })
    }

    /// Refuses a request whose version is older than `needed`, the version that brought
    /// `feature` (docs/stripe.md §1.1.4, §9). The wording is the emulator's: Stripe does not
    /// document its answer to a too-old version.
    pub fn require_version(
        &self,
        needed: &str,
        feature: &str,
        param: Option<&str>,
    ) -> Result<(), ApiError> {
        let version = self.version()?;
        if version.at_least(needed) {
            return Ok(());
        }
        let source = if self.stripe_version.is_some() {
            "its Stripe-Version header"
        } else {
            "the account's default: no Stripe-Version header was sent"
        };
        let error = ApiError::invalid(format!(
            "stripe-sim: {feature} needs Stripe-Version {needed} or later; this request runs on {} ({source}).",
            version.name
        ))
        .not_replayable();
        Err(match param {
            Some(param) => error.param(param),
            None => error,
        })
    }
}

pub fn router(sim: Arc<Sim>) -> Router {
    // `POST /v1/files` parses its form with axum's `Multipart`, which stops at axum's
    // default body limit (2 MB) unless told otherwise. Only the API gets the larger
    // limit: the control routes keep axum's.
    let upload_limit = usize::try_from(files::body_limit(&sim.config)).unwrap_or(usize::MAX);
    control::routes()
        .fallback(handle.layer(DefaultBodyLimit::max(upload_limit)))
        .layer(axum::middleware::map_response(ensure_request_id))
        .with_state(sim)
}

/// Every response carries a `Request-Id`, control endpoints included.
async fn ensure_request_id(mut response: Response) -> Response {
    if !response.headers().contains_key(REQUEST_ID) {
        if let Ok(value) = HeaderValue::from_str(&ids::request()) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
    }
    response
}

fn unrecognized(method: &Method, path: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "invalid_request_error",
        format!(
            "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."
        ),
    )
    .not_replayable()
}

async fn handle(State(sim): State<Arc<Sim>>, request: Request) -> Response {
    let request_id = ids::request();
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let version = request
        .headers()
        .get("stripe-version")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| sim.config.api_version.clone());
    let idempotency_key = request.headers().get("idempotency-key").cloned();

    let mut response = process(&sim, &request_id, request)
        .await
        .unwrap_or_else(IntoResponse::into_response);

    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    if let Ok(value) = HeaderValue::from_str(&version) {
        headers.insert(HeaderName::from_static("stripe-version"), value);
    }
    if let Some(key) = idempotency_key {
        headers.insert(HeaderName::from_static("idempotency-key"), key);
    }
    tracing::info!(%method, %path, status = response.status().as_u16(), request_id, "api request");
    response
}

async fn process(sim: &Arc<Sim>, request_id: &str, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let method = parts.method.clone();
    let path = parts.uri.path().to_string();
    let v2 = path.starts_with("/v2/");
    if !path.starts_with("/v1/") && !v2 {
        return Err(unrecognized(&method, &path));
    }
    let api_key = auth::authenticate(&parts.headers, &sim.config.api_keys)?;
    let scope = auth::account_scope(&parts.headers, &api_key)?;
    // Rate limits: after authentication (the account is known), before faults and
    // idempotency (a 429 never runs, so it is never saved for replay). Every request counts
    // against the platform's limits, whatever its scope (`state::traffic`).
    let endpoint = endpoints::identify(&method, &path, &sim.config.import_sets_path);
    sim.lock().traffic.admit_now(&endpoint.counted())?;
    let mut upload = None;
    let mut upload_digest = None;
    let params = if method == Method::POST && path == "/v1/files" {
        let (params, file) = files::read_upload(sim, &parts, body).await?;
        upload_digest = file.as_ref().map(files::Upload::digest);
        upload = file;
        params
    } else if v2 && method == Method::POST {
        let body = read_body(body).await?;
        json_params(&body)?
    } else {
        let body = read_body(body).await?;
        Params::parse(parts.uri.query(), &body)?
    };

    let fault = faults::take(&mut sim.lock(), method.as_str(), &path);
    let mut lost_response = None;
    if let Some(hit) = fault {
        if let Some(delay) = hit.delay {
            tokio::time::sleep(delay).await;
        }
        match hit.error {
            Some(error) if hit.after_processing => lost_response = Some(error),
            Some(error) => return Err(error),
            None => {}
        }
    }

    // Stripe only honours idempotency keys on POST; GET and DELETE are idempotent anyway.
    let idempotency_key = match idempotency_key(&parts.headers)? {
        Some(key) if method == Method::POST => Some(key),
        _ => None,
    };
    let guard = match &idempotency_key {
        Some(key) => {
            let id_key = IdemKey {
                api_key,
                scope: scope.clone(),
                key: key.clone(),
            };
            let mut fingerprinted = params.0.clone();
            // A large upload is compared by its digest, not byte for byte.
            if let Some(digest) = &upload_digest {
                fingerprinted.insert("file".into(), digest.clone());
            }
            let fingerprint = Fingerprint {
                method: method.to_string(),
                path: path.clone(),
                params: Value::Object(fingerprinted),
            };
            match idempotency::begin(sim, id_key, fingerprint)? {
                Begin::Replay(stored) => return Ok(replay(stored)),
                Begin::Proceed(guard) => Some(guard),
            }
        }
        None => None,
    };

    let ctx = Ctx {
        sim: Arc::clone(sim),
        scope,
        params,
        request: RequestInfo {
            id: Some(request_id.to_string()),
            idempotency_key,
        },
        stripe_version: parts
            .headers
            .get("stripe-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        upload,
    };
    let result = match endpoint.route {
        Some(route) => dispatch(&ctx, route, endpoint.id()),
        None => Err(unrecognized(&method, &path)),
    };

    let (status, body, headers, save) = match result {
        // Raw bodies only answer GETs, which are never saved for idempotency.
        Ok(Reply::Raw { content_type, body }) => {
            let mut response = (StatusCode::OK, body).into_response();
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            if let Some(guard) = guard {
                guard.finish(None);
            }
            return match lost_response {
                Some(error) => Err(error),
                None => Ok(response),
            };
        }
        Ok(Reply::Json(value)) => (StatusCode::OK, json_bytes(&value), Vec::new(), true),
        Err(error) => {
            let save = error.replayable && error.status != StatusCode::TOO_MANY_REQUESTS;
            let headers = error
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect();
            (error.status, json_bytes(&error.body()), headers, save)
        }
    };
    let stored = StoredResponse {
        status: status.as_u16(),
        body,
        request_id: request_id.to_string(),
        headers,
    };
    let response = stored_to_response(&stored);
    if let Some(guard) = guard {
        guard.finish(save.then_some(stored));
    }
    match lost_response {
        Some(error) => Err(error),
        None => Ok(response),
    }
}

/// Serves a route of the table in `endpoints`.
fn dispatch(ctx: &Ctx, route: Route, id: &str) -> Result<Reply, ApiError> {
    let value = match route {
        Route::ImportSetCreate => import_sets::create(ctx),
        Route::ImportSetRetrieve => import_sets::retrieve(ctx, id),
        Route::FileCreate => files::create(ctx),
        Route::FileRetrieve => files::retrieve(ctx, id),
        // Raw bytes, not JSON.
        Route::FileContents => return files::contents(ctx, id),
        Route::SessionList => checkout_sessions::list(ctx),
        Route::SessionRetrieve => checkout_sessions::retrieve(ctx, id),
        Route::SessionLineItems => checkout_sessions::line_items(ctx, id),
        Route::PaymentIntentList => payment_intents::list(ctx),
        Route::PaymentIntentRetrieve => payment_intents::retrieve(ctx, id),
        Route::PaymentIntentCapture => payment_intents::capture(ctx, id),
        Route::ChargeRetrieve => charges::retrieve(ctx, id),
        Route::RefundCreate => refunds::create(ctx),
        Route::RefundRetrieve => refunds::retrieve(ctx, id),
        Route::DisputeRetrieve => disputes::retrieve(ctx, id),
        Route::AccountSessionCreate => account_sessions::create(ctx),
        Route::CatalogImportCreate => product_catalog::create(ctx),
        Route::CatalogImportRetrieve => product_catalog::retrieve(ctx, id),
        Route::EventRetrieve => retrieve_event(ctx, id),
        Route::AgreementCreate => agreements::create(ctx),
        Route::AgreementList => agreements::list(ctx),
        Route::AgreementRetrieve => agreements::retrieve(ctx, id),
        Route::AgreementConfirm => agreements::confirm(ctx, id),
        Route::AgreementTerminate => agreements::terminate(ctx, id),
    };
    value.map(Reply::Json)
}

/// `GET /v2/core/events/{id}`: a thin event in full, only in its own context. Agreement
/// events carry an (empty) `data` there, as Stripe's full events do.
fn retrieve_event(ctx: &Ctx, id: &str) -> ApiResult {
    let mut event = product_catalog::retrieve_event(ctx, id)?;
    if agreements::is_agreement_event(&event) {
        event["data"] = serde_json::json!({});
    }
    Ok(event)
}

/// A v2 JSON body: an object (an empty body counts as `{}`).
fn json_params(body: &[u8]) -> Result<Params, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Params::default());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(Params(map)),
        _ => Err(ApiError::invalid(
            "Invalid request: the body must be a JSON object (Content-Type: application/json).",
        )
        .not_replayable()),
    }
}

async fn read_body(body: Body) -> Result<Vec<u8>, ApiError> {
    to_bytes(body, MAX_BODY_BYTES)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request_error",
                "The request body is too large.",
            )
            .not_replayable()
        })
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(value) => match value.to_str() {
            Ok(key) if key.trim().is_empty() => Ok(None),
            Ok(key) => Ok(Some(key.to_string())),
            Err(_) => {
                Err(ApiError::invalid("Idempotency-Key must be printable ASCII.").not_replayable())
            }
        },
    }
}

fn stored_to_response(stored: &StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, stored.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    response
}

/// The first response again, byte for byte, marked the way Stripe marks replays.
fn replay(stored: StoredResponse) -> Response {
    let mut response = stored_to_response(&stored);
    let headers = response.headers_mut();
    headers.insert(
        HeaderName::from_static("idempotent-replayed"),
        HeaderValue::from_static("true"),
    );
    if let Ok(original) = HeaderValue::from_str(&stored.request_id) {
        headers.insert(HeaderName::from_static("original-request"), original);
    }
    response
}

/// `limit`, `starting_after`, `ending_before` over a newest-first list.
pub fn paginate<'a, T>(
    ctx: &Ctx,
    items: Vec<&'a T>,
    id_of: impl Fn(&T) -> &str,
    object_name: &str,
) -> Result<(Vec<&'a T>, bool), ApiError> {
    let limit = ctx.params.int("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_param(
            "limit",
            "This value must be between 1 and 100 (inclusive).",
        ));
    }
    let limit = limit as usize;
    let position = |param: &str, id: &str| {
        items
            .iter()
            .position(|item| id_of(item) == id)
            .ok_or_else(|| ApiError::no_such(object_name, id, param))
    };
    if let Some(cursor) = ctx.params.non_empty_str("starting_after")? {
        let start = position("starting_after", cursor)? + 1;
        let rest = &items[start..];
        return Ok((
            rest.iter().take(limit).copied().collect(),
            rest.len() > limit,
        ));
    }
    if let Some(cursor) = ctx.params.non_empty_str("ending_before")? {
        let end = position("ending_before", cursor)?;
        let before = &items[..end];
        let from = before.len().saturating_sub(limit);
        return Ok((before[from..].to_vec(), from > 0));
    }
    Ok((
        items.iter().take(limit).copied().collect(),
        items.len() > limit,
    ))
}

/// Stripe's metadata update rule: an empty value deletes the key.
pub fn merge_metadata(
    target: &mut serde_json::Map<String, Value>,
    updates: serde_json::Map<String, Value>,
) {
    for (key, value) in updates {
        if value.as_str().is_some_and(str::is_empty) {
            target.remove(&key);
        } else {
            target.insert(key, value);
        }
    }
}
