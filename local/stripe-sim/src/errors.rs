//! Stripe-shaped errors: `{"error": {"type", "code"?, "message", "param"?, "doc_url"?}}`.
//!
//! Every failure path of the emulator ends here, so a client under test only ever sees the
//! bodies and statuses real Stripe would send, never axum's plain-text rejections.

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {kind}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    /// Stripe's `type` field.
    pub kind: String,
    pub code: Option<String>,
    pub message: String,
    pub param: Option<String>,
    /// Rarely used parts, boxed so every `Result<_, ApiError>` stays small.
    pub more: Option<Box<More>>,
    /// Stripe saves an idempotent result only once the endpoint started executing; errors
    /// from parameter parsing and validation happen before that and are never replayed.
    pub replayable: bool,
}

#[derive(Debug, Clone, Default)]
pub struct More {
    /// Extra members of the error object, e.g. the `payment_intent` Stripe attaches to
    /// `payment_intent_unexpected_state`.
    pub members: Map<String, Value>,
    pub headers: Vec<(HeaderName, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            kind: kind.to_string(),
            code: None,
            message: message.into(),
            param: None,
            more: None,
            replayable: true,
        }
    }

    /// 400 `invalid_request_error`, the most common Stripe error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// A parameter problem found before the endpoint runs (never stored for idempotency).
    pub fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        Self::invalid(message).param(param).not_replayable()
    }

    pub fn unknown_param(param: &str) -> Self {
        Self::invalid_param(param, format!("Received unknown parameter: {param}"))
            .code("parameter_unknown")
    }

    pub fn missing_param(param: &str) -> Self {
        Self::invalid_param(param, format!("Missing required param: {param}."))
            .code("parameter_missing")
    }

    /// 404 `resource_missing` with the object name as Stripe spells it in the message.
    pub fn no_such(object: &str, id: &str, param: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("No such {object}: '{id}'"),
        )
        .code("resource_missing")
        .param(param)
    }

    /// 429 `code: rate_limit`, never saved for idempotency (docs/stripe.md §7.6). The `type`
    /// Stripe puts on a 429 is not documented; the documented types are `api_error`,
    /// `card_error`, `idempotency_error` and `invalid_request_error` (§7.1), and the emulator
    /// uses `invalid_request_error` rather than invent one (K17). Clients should dispatch on
    /// the status and `code` (§7.3).
    pub fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "invalid_request_error",
            message,
        )
        .code("rate_limit")
        .not_replayable()
    }

    pub fn code(mut self, code: &str) -> Self {
        self.code = Some(code.to_string());
        self
    }

    pub fn param(mut self, param: &str) -> Self {
        self.param = Some(param.to_string());
        self
    }

    pub fn extra(mut self, key: &str, value: Value) -> Self {
        self.more
            .get_or_insert_default()
            .members
            .insert(key.to_string(), value);
        self
    }

    pub fn header(mut self, name: HeaderName, value: String) -> Self {
        self.more
            .get_or_insert_default()
            .headers
            .push((name, value));
        self
    }

    pub fn headers(&self) -> &[(HeaderName, String)] {
        self.more.as_ref().map_or(&[], |m| m.headers.as_slice())
    }

    pub fn not_replayable(mut self) -> Self {
        self.replayable = false;
        self
    }

    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("type".into(), json!(self.kind));
        if let Some(code) = &self.code {
            error.insert("code".into(), json!(code));
            error.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        error.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        for (key, value) in self.more.iter().flat_map(|m| &m.members) {
            error.insert(key.clone(), value.clone());
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = json_response(self.status, &self.body());
        for (name, value) in self.headers() {
            if let Ok(value) = HeaderValue::from_str(value) {
                response.headers_mut().insert(name.clone(), value);
            }
        }
        response
    }
}

/// Stripe pretty-prints its JSON; doing the same keeps byte-level replays and webhook
/// bodies honest (a client that re-serialises before verifying will notice).
pub fn json_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec())
}

pub fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, json_bytes(value)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_stripe_shape() {
        let err = ApiError::no_such("checkout.session", "cs_x", "id");
        let body = err.body();
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["code"], "resource_missing");
        assert_eq!(body["error"]["message"], "No such checkout.session: 'cs_x'");
        assert_eq!(body["error"]["param"], "id");
        assert_eq!(
            body["error"]["doc_url"],
            "https://stripe.com/docs/error-codes/resource-missing"
        );
        assert_eq!(err.status, StatusCode::NOT_FOUND);
    }

    #[test]
    fn optional_members_are_absent() {
        let body = ApiError::invalid("nope").body();
        let error = body["error"].as_object().cloned().unwrap_or_default();
        assert!(!error.contains_key("code"));
        assert!(!error.contains_key("param"));
    }
}
