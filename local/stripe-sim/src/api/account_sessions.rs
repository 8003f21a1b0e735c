//! `POST /v1/account_sessions`: a short-lived `client_secret` with which the platform's
//! front end mounts an embedded component for a connected account. Only the
//! `agentic_commerce_settings` component exists here, and it is a private-preview component:
//! its session needs the embedded components beta flag in `Stripe-Version`
//! (`SimConfig::account_sessions_beta`, docs/stripe.md §6.5).

use super::{ApiResult, Ctx};
use crate::checkout::parse_account;
use crate::errors::ApiError;
use crate::ids;
use crate::timestamps::now;
use crate::versions;
use serde_json::{Value, json};

const COMPONENT: &str = "agentic_commerce_settings";
/// Stripe: account sessions expire 30 minutes after creation.
const LIFETIME_SECS: i64 = 30 * 60;

pub fn create(ctx: &Ctx) -> ApiResult {
    ctx.params.allow(&["account", "components", "expand"])?;
    let account = match ctx.params.non_empty_str("account")? {
        None => return Err(ApiError::missing_param("account")),
        Some(raw) => parse_account(Some(raw))?,
    };
    let Some(account) = account else {
        return Err(ApiError::missing_param("account"));
    };
    let components = match ctx.params.0.get("components") {
        None => return Err(ApiError::missing_param("components")),
        Some(Value::Object(map)) if !map.is_empty() => map,
        Some(Value::String(s)) if s.is_empty() => {
            return Err(ApiError::missing_param("components"));
        }
        Some(_) => {
            return Err(ApiError::invalid_param(
                "components",
                "Invalid hash: components must be a hash of components.",
            ));
        }
    };
    if let Some(other) = components.keys().find(|k| k.as_str() != COMPONENT) {
        return Err(ApiError::unknown_param(&format!("components[{other}]")));
    }
    let enabled_key = format!("components[{COMPONENT}][enabled]");
    let settings = match components.get(COMPONENT) {
        Some(Value::Object(settings)) => settings,
        _ => return Err(ApiError::missing_param(&enabled_key)),
    };
    if let Some(other) = settings.keys().find(|k| k.as_str() != "enabled") {
        return Err(ApiError::unknown_param(&format!(
            "components[{COMPONENT}][{other}]"
        )));
    }
    match settings.get("enabled").and_then(Value::as_str) {
        None | Some("") => return Err(ApiError::missing_param(&enabled_key)),
        Some("true") => {}
        Some("false") => {
            return Err(ApiError::invalid_param(
                &enabled_key,
                "At least one component must be enabled.",
            ));
        }
        Some(raw) => {
            return Err(ApiError::invalid_param(
                &enabled_key,
                format!("Invalid boolean: {raw}"),
            ));
        }
    }
    require_beta(ctx)?;
    Ok(json!({
        "object": "account_session",
        "account": account,
        "client_secret": format!("accs_secret__{}", ids::random_alphanumeric(48)),
        "expires_at": now() + LIFETIME_SECS,
        "livemode": false,
        "components": {
            COMPONENT: { "enabled": true, "features": {} },
        },
    }))
}

/// Stripe's guide to private-preview embedded components asks for the beta flag
/// `embedded_connect_beta=v2` in `Stripe-Version` when creating their account sessions; the
/// refusal's wording is the emulator's own.
fn require_beta(ctx: &Ctx) -> Result<(), ApiError> {
    let Some(flag) = ctx.sim.config.account_sessions_beta.as_deref() else {
        return Ok(());
    };
    let sent = ctx.stripe_version.as_deref();
    if sent
        .and_then(versions::parse)
        .is_some_and(|v| v.has_beta(flag))
    {
        return Ok(());
    }
    Err(ApiError::invalid_param(
        &format!("components[{COMPONENT}]"),
        format!(
            "stripe-sim: `{COMPONENT}` is a private-preview embedded component: create its account session with the beta flag in Stripe-Version, e.g. `Stripe-Version: 2026-06-24.dahlia; {flag}` (received {}).",
            sent.map_or("no Stripe-Version".to_string(), |v| format!("`{v}`"))
        ),
    ))
}
