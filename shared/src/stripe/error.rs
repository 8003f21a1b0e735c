//! Stripe's error body, typed, and what our callers need from it: is it worth retrying?

use serde::Deserialize;

/// `{error: {type, code?, decline_code?, message?, param?, doc_url?}}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct ApiErrorBody {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub param: Option<String>,
    #[serde(default)]
    pub doc_url: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ErrorEnvelope {
    pub error: ApiErrorBody,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StripeError {
    #[error("Stripe answered {status} {kind}{code}: {message} (request {request_id})",
        kind = body.kind,
        code = body.code.as_deref().map(|c| format!("/{c}")).unwrap_or_default(),
        message = body.message.as_deref().unwrap_or("no message"),
        request_id = request_id.as_deref().unwrap_or("unknown"))]
    Api {
        status: u16,
        /// Boxed: the error travels through every `Result` of the client.
        body: Box<ApiErrorBody>,
        request_id: Option<String>,
    },
    #[error("could not reach Stripe: {0}")]
    Network(String),
    #[error("Stripe answered {status} with a body we could not read: {message} (request {request_id})",
        request_id = request_id.as_deref().unwrap_or("unknown"))]
    Decode {
        status: u16,
        message: String,
        request_id: Option<String>,
    },
    /// A request the client refused to send because it is malformed on our side (e.g. both
    /// `Stripe-Account` and `Stripe-Context`): a bug to fix, never worth a retry.
    #[error("request not sent to Stripe: {0}")]
    NotSent(String),
}

impl StripeError {
    /// Whether a later attempt of the whole operation may succeed: the caller maps this to a
    /// 5xx (Stripe redelivers) or a retryable Lambda error.
    pub fn is_transient(&self) -> bool {
        match self {
            StripeError::Api { status, .. } => *status == 409 || *status == 429 || *status >= 500,
            StripeError::Network(_) => true,
            StripeError::Decode { status, .. } => *status >= 500,
            StripeError::NotSent(_) => false,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            StripeError::Api { status, .. } | StripeError::Decode { status, .. } => Some(*status),
            StripeError::Network(_) | StripeError::NotSent(_) => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, StripeError::Api { status: 404, .. })
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            StripeError::Api { body, .. } => body.code.as_deref(),
            _ => None,
        }
    }
}
