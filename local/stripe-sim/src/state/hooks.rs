//! The log of checkout hook exchanges that `/_sim/hook_calls` shows.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    CustomizeCheckout,
    FinalizeCheckout,
}

impl Hook {
    pub fn event_type(self) -> &'static str {
        match self {
            Hook::CustomizeCheckout => "v1.delegated_checkout.customize_checkout",
            Hook::FinalizeCheckout => "v1.delegated_checkout.finalize_checkout",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Hook::CustomizeCheckout => "customize_checkout",
            Hook::FinalizeCheckout => "finalize_checkout",
        }
    }
}

/// One request sent to a hook and what came back (`GET /_sim/hook_calls`).
#[derive(Debug, Clone, Serialize)]
pub struct HookCall {
    pub hook: Hook,
    pub url: String,
    pub checkout_session: String,
    /// The JSON sent (the exact bytes are its pretty-printed form).
    pub request: Value,
    /// HTTP status; `None` when no answer came (timeout, connection refused).
    pub status: Option<u16>,
    /// The answer's JSON; `None` when there was none or it was not JSON.
    pub response: Option<Value>,
    pub elapsed_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
