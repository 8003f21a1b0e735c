//! `/_sim/hooks` and `/_sim/hook_calls`: where the checkout hooks go, and what they were
//! sent and answered.

use super::{ControlResult, ok, parse};
use crate::errors::ApiError;
use crate::hooks;
use crate::model::to_json;
use crate::state::Sim;
use axum::body::Bytes;
use axum::extract::{Query, State};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// `GET /_sim/hooks`: the hooks' current destinations, secret and deadline.
pub async fn get_hooks(State(sim): State<Arc<Sim>>) -> ControlResult {
    let store = sim.lock();
    ok(to_json(&store.hooks))
}

fn hook_url(key: &str, value: &Value) -> Result<Option<String>, ApiError> {
    match value {
        Value::Null => Ok(None),
        Value::String(url) if url.starts_with("http://") || url.starts_with("https://") => {
            Ok(Some(url.clone()))
        }
        _ => Err(ApiError::invalid_param(
            key,
            format!("{key} must be an http:// or https:// URL, or null."),
        )),
    }
}

/// `POST /_sim/hooks {customize_url?, finalize_url?, secret?, timeout_ms?, finalize_sends_session?}`: a given key
/// changes that setting (a URL of null switches that hook off); the others stay.
pub async fn set_hooks(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let req: serde_json::Map<String, Value> = parse(&body)?;
    let mut hooks = sim.lock().hooks.clone();
    for (key, value) in &req {
        match key.as_str() {
            "customize_url" => hooks.customize_url = hook_url(key, value)?,
            "finalize_url" => hooks.finalize_url = hook_url(key, value)?,
            "secret" => match value.as_str() {
                Some(secret) if !secret.is_empty() => hooks.secret = secret.to_string(),
                _ => {
                    return Err(ApiError::invalid_param(
                        key,
                        "secret must be a non-empty string.",
                    ));
                }
            },
            "timeout_ms" => match value.as_u64() {
                Some(ms) if (1..=hooks::MAX_TIMEOUT_MS).contains(&ms) => hooks.timeout_ms = ms,
                _ => {
                    return Err(ApiError::invalid_param(
                        key,
                        format!(
                            "timeout_ms must be an integer from 1 to {}.",
                            hooks::MAX_TIMEOUT_MS
                        ),
                    ));
                }
            },
            "finalize_sends_session" => match value.as_bool() {
                Some(on) => hooks.finalize_sends_session = on,
                None => {
                    return Err(ApiError::invalid_param(
                        key,
                        "finalize_sends_session must be true or false.",
                    ));
                }
            },
            _ => return Err(ApiError::unknown_param(key)),
        }
    }
    let mut store = sim.lock();
    store.hooks = hooks;
    ok(to_json(&store.hooks))
}

/// `GET /_sim/hook_calls?hook=&checkout_session=`: every hook exchange, oldest first.
pub async fn list_hook_calls(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<HashMap<String, String>>,
) -> ControlResult {
    let store = sim.lock();
    let calls: Vec<Value> = store
        .hook_calls
        .iter()
        .filter(|c| query.get("hook").is_none_or(|h| c.hook.name() == h))
        .filter(|c| {
            query
                .get("checkout_session")
                .is_none_or(|id| &c.checkout_session == id)
        })
        .map(to_json)
        .collect();
    ok(json!(calls))
}
