//! API key and account headers.
//!
//! Messages follow Stripe's, and a rejected key is echoed only masked: an emulator that
//! prints whole keys would teach tests to tolerate secrets in logs.

use crate::errors::ApiError;
use crate::state::Scope;
use axum::http::{HeaderMap, HeaderName, StatusCode, header};

const MISSING_KEY: &str = "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/.";

/// Shows a key's type prefix and last four characters only (`sk_test_****abcd`).
pub fn mask(key: &str) -> String {
    let prefix = [
        "sk_test_", "sk_live_", "rk_test_", "rk_live_", "pk_test_", "pk_live_",
    ]
    .into_iter()
    .find(|p| key.starts_with(p))
    .unwrap_or("");
    let rest: Vec<char> = key[prefix.len()..].chars().collect();
    // Short keys would be shown almost whole by "last four", so they are hidden entirely.
    let tail: String = if rest.len() >= 8 {
        rest[rest.len() - 4..].iter().collect()
    } else {
        String::new()
    };
    format!("{prefix}****{tail}")
}

fn unauthorized(message: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_request_error", message)
        .header(header::WWW_AUTHENTICATE, "Basic realm=\"Stripe\"".into())
        .not_replayable()
}

fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let head = value.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| value[scheme.len()..].trim())
}

/// Returns the accepted API key, from `Bearer <key>` or `Basic base64(<key>:)`.
pub fn authenticate(headers: &HeaderMap, keys: &[String]) -> Result<String, ApiError> {
    let Some(raw) = headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(MISSING_KEY.into()));
    };
    let Ok(value) = raw.to_str() else {
        return Err(unauthorized("Invalid API Key provided: ****".into()));
    };
    let key = if let Some(token) = strip_scheme(value, "Bearer ") {
        token.to_string()
    } else if let Some(encoded) = strip_scheme(value, "Basic ") {
        let decoded = decode_base64(encoded)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| unauthorized("Invalid API Key provided: ****".into()))?;
        // The key is the username; Stripe ignores the password.
        decoded.split(':').next().unwrap_or("").to_string()
    } else {
        return Err(unauthorized(MISSING_KEY.into()));
    };
    if key.is_empty() {
        return Err(unauthorized(MISSING_KEY.into()));
    }
    if !keys.contains(&key) {
        return Err(unauthorized(format!(
            "Invalid API Key provided: {}",
            mask(&key)
        )));
    }
    Ok(key)
}

/// `Stripe-Account` (or a v2-style `Stripe-Context`) names the connected account to act as.
/// Both at once are refused: stripe-node will not send both (its request options throw
/// "Can't specify both stripeAccount and stripeContext."), and which one Stripe would honour
/// is not documented. The message is the emulator's own (docs/stripe.md §8.3).
pub fn account_scope(headers: &HeaderMap, api_key: &str) -> Result<Scope, ApiError> {
    let account = headers.get(HeaderName::from_static("stripe-account"));
    let context = headers.get(HeaderName::from_static("stripe-context"));
    if account.is_some() && context.is_some() {
        return Err(ApiError::invalid(
            "stripe-sim refuses a request with both Stripe-Account and Stripe-Context headers: send exactly one (Stripe-Context for /v2 APIs, Stripe-Account for /v1), as stripe-node does.",
        )
        .not_replayable());
    }
    let value = account.or(context);
    let Some(value) = value else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or("").trim();
    // A context can be a path of accounts; the last one is the account acted on.
    let account = text.rsplit('/').next().unwrap_or("");
    if text.is_empty() {
        return Ok(None);
    }
    let well_formed = account.len() > 5
        && account.starts_with("acct_")
        && account[5..].chars().all(|c| c.is_ascii_alphanumeric());
    if !well_formed {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_request_error",
            format!(
                "The provided key '{}' does not have access to account '{}' (or that account does not exist). Application access may have been revoked.",
                mask(api_key),
                text.chars().take(64).collect::<String>()
            ),
        )
        .code("account_invalid")
        .not_replayable());
    }
    Ok(Some(account.to_string()))
}

/// Standard base64 (padding optional); axum has no decoder and one header is not worth a
/// dependency.
pub fn decode_base64(input: &str) -> Option<Vec<u8>> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    for byte in input.trim_end_matches('=').bytes() {
        let v = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(auth) {
            h.insert(header::AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn masks_all_but_last_four() {
        assert_eq!(mask("sk_test_51Habcdefghabcd"), "sk_test_****abcd");
        assert_eq!(mask("sk_test_abc"), "sk_test_****");
        assert_eq!(mask("whatever-secret-1234"), "****1234");
        assert_eq!(mask("éééééééééé"), "****éééé");
    }

    #[test]
    fn bearer_and_basic_are_accepted() {
        let keys = vec!["sk_test_sim".to_string()];
        assert_eq!(
            authenticate(&headers("Bearer sk_test_sim"), &keys).ok(),
            Some("sk_test_sim".into())
        );
        assert_eq!(
            authenticate(&headers("bearer sk_test_sim"), &keys).ok(),
            Some("sk_test_sim".into())
        );
        // base64("sk_test_sim:")
        assert_eq!(
            authenticate(&headers("Basic c2tfdGVzdF9zaW06"), &keys).ok(),
            Some("sk_test_sim".into())
        );
    }

    #[test]
    fn rejections_never_echo_the_key() {
        let keys = vec!["sk_test_sim".to_string()];
        let err = authenticate(&headers("Bearer sk_test_secretsecret9876"), &keys).err();
        let message = err.map(|e| e.message).unwrap_or_default();
        assert_eq!(message, "Invalid API Key provided: sk_test_****9876");
        let missing = authenticate(&HeaderMap::new(), &keys).err();
        assert!(missing.is_some_and(|e| e.status == StatusCode::UNAUTHORIZED
            && e.message.starts_with("You did not provide an API key.")));
        assert!(authenticate(&headers("Basic !!!"), &keys).is_err());
        assert!(authenticate(&headers("Bearer "), &keys).is_err());
        assert!(authenticate(&headers("Token x"), &keys).is_err());
    }

    #[test]
    fn base64_round_trips() {
        assert_eq!(decode_base64("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_base64("aGk").as_deref(), Some(&b"hi"[..]));
        assert_eq!(decode_base64("a b"), None);
    }

    #[test]
    fn account_header_is_validated() {
        let mut h = HeaderMap::new();
        assert_eq!(account_scope(&h, "sk_test_sim").ok(), Some(None));
        h.insert("stripe-account", HeaderValue::from_static("acct_123"));
        assert_eq!(
            account_scope(&h, "sk_test_sim").ok(),
            Some(Some("acct_123".into()))
        );
        h.insert("stripe-account", HeaderValue::from_static("cus_123"));
        assert!(account_scope(&h, "sk_test_sim").is_err());
    }

    #[test]
    fn one_account_header_at_a_time() {
        let mut h = HeaderMap::new();
        h.insert("stripe-context", HeaderValue::from_static("acct_123"));
        assert_eq!(
            account_scope(&h, "sk_test_sim").ok(),
            Some(Some("acct_123".into()))
        );
        h.insert("stripe-account", HeaderValue::from_static("acct_123"));
        let err = account_scope(&h, "sk_test_sim").err();
        assert!(err.is_some_and(|e| e.status == StatusCode::BAD_REQUEST
            && e.kind == "invalid_request_error"
            && e.message.contains("Stripe-Account")
            && e.message.contains("Stripe-Context")
            && !e.replayable));
    }
}
