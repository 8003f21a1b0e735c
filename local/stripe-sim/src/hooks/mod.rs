//! Checkout hooks: during an agent's checkout Stripe calls the platform twice (docs/stripe.md §3),
//! `v1.delegated_checkout.customize_checkout` (shipping options, tax rates) and then
//! `v1.delegated_checkout.finalize_checkout` (approve or decline, application fee).
//!
//! This module sends the signed requests and records every exchange for
//! `/_sim/hook_calls`; [`answers`] parses what comes back. Building the request data and
//! applying the answers to a purchase live in [`crate::checkout`].

mod answers;

pub use answers::{
    CustomizeAnswer, Decision, FinalizeAnswer, ShippingRateData, TaxRateData, parse_answer,
};

use crate::HooksConfig;
use crate::errors::json_bytes;
use crate::state::hooks::{Hook, HookCall};
use crate::state::{Scope, Sim};
use crate::timestamps::now;
use crate::webhooks::signature_header;
use axum::http::header;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Same user agent as webhook deliveries: both come from Stripe's event destinations.
const USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";
/// Longest deadline `/_sim/hooks` accepts: ten minutes, like the webhook delay cap.
pub const MAX_TIMEOUT_MS: u64 = 600_000;
/// How much of a non-JSON answer is quoted in errors.
const QUOTE_CHARS: usize = 200;

/// The request envelope: `{type, id, livemode, context, data}`.
pub fn envelope(hook: Hook, scope: &Scope, data: Value) -> Value {
    json!({
        "type": hook.event_type(),
        "id": crate::ids::hook_request(),
        "livemode": false,
        "context": scope,
        "data": data,
    })
}

/// Sends `request` to `url`, `copies` times (an agent retry repeats the same id and body;
/// each copy is signed afresh), records every exchange, and returns the last answer's
/// JSON, or why it cannot be used (no answer, non-2xx, not JSON).
pub async fn exchange(
    sim: &Arc<Sim>,
    hook: Hook,
    settings: &HooksConfig,
    url: &str,
    session: &str,
    request: &Value,
    copies: u32,
) -> Result<Value, String> {
    let body = json_bytes(request);
    let mut outcome = Err(String::new());
    for _ in 0..copies.max(1) {
        let started = Instant::now();
        let (status, answer) = send(sim, settings, url, &body).await;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (response, error) = match answer {
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(value) => (Some(value), None),
                Err(_) => (
                    None,
                    Some(format!(
                        "{} answered with a body that is not JSON: {:?}",
                        hook.name(),
                        String::from_utf8_lossy(&bytes)
                            .chars()
                            .take(QUOTE_CHARS)
                            .collect::<String>()
                    )),
                ),
            },
            Err(error) => (None, Some(format!("{} {error}", hook.name()))),
        };
        let error = error.or_else(|| {
            status
                .filter(|s| !(200..300).contains(s))
                .map(|s| format!("{} answered HTTP {s}.", hook.name()))
        });
        tracing::info!(
            hook = hook.name(),
            status,
            elapsed_ms,
            ok = error.is_none(),
            "checkout hook"
        );
        outcome = match (&error, &response) {
            (None, Some(value)) => Ok(value.clone()),
            (Some(e), _) => Err(e.clone()),
            (None, None) => Err(format!("{} gave no answer.", hook.name())),
        };
        sim.lock().hook_calls.push(HookCall {
            hook,
            url: url.to_string(),
            checkout_session: session.to_string(),
            request: request.clone(),
            status,
            response,
            elapsed_ms,
            error,
        });
    }
    outcome
}

/// One signed POST within the deadline: the status (if any answer came) and the body, or
/// why there is none.
async fn send(
    sim: &Arc<Sim>,
    settings: &HooksConfig,
    url: &str,
    body: &[u8],
) -> (Option<u16>, Result<Vec<u8>, String>) {
    let deadline = Duration::from_millis(settings.timeout_ms.clamp(1, MAX_TIMEOUT_MS));
    let signature = signature_header(&settings.secret, now(), body);
    let call = async {
        let response = sim
            .http
            .post(url)
            .timeout(deadline)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::USER_AGENT, USER_AGENT)
            .header("Stripe-Signature", signature)
            .body(body.to_vec())
            .send()
            .await?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, bytes.to_vec()))
    };
    match tokio::time::timeout(deadline, call).await {
        Ok(Ok((status, bytes))) => (Some(status), Ok(bytes)),
        Ok(Err(e)) if e.is_timeout() => (None, Err(timed_out(deadline))),
        Ok(Err(e)) => (None, Err(format!("could not be reached: {e}"))),
        Err(_) => (None, Err(timed_out(deadline))),
    }
}

fn timed_out(deadline: Duration) -> String {
    format!("did not answer within {} ms.", deadline.as_millis())
}
