//! Events Stripe really sent (their signature verified) that the bundle cannot process:
//! kept for an operator instead of refused. Stripe retries every non-2xx answer for three
//! days and then disables the endpoint (docs/stripe.md §4.2), and a retry cannot fix an
//! event of the wrong mode or one whose object Stripe no longer has; so such an event is
//! stored with why, answered 2xx, logged at error level, counted in the `DeadLetters`
//! metric (the dead-letter alarm watches it) and listed by `acb dead-letters list`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The log message of a kept event, one search away in CloudWatch Logs Insights.
pub const LOG_MESSAGE: &str = "event kept for an operator";

/// What is kept of the body: the whole of any real event, well inside DynamoDB's 400 KB item.
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The connected account the event names, or `platform` when it names none.
    pub account_id: String,
    pub event_id: String,
    #[serde(default)]
    pub event_type: Option<String>,
    /// `webhooks` (snapshot events) or `events` (thin events).
    pub route: String,
    #[serde(default)]
    pub livemode: Option<bool>,
    pub reason: String,
    pub received_at: i64,
    /// The body as received (lossy UTF-8), cut at [`MAX_PAYLOAD_BYTES`].
    pub payload: String,
    #[serde(default)]
    pub truncated: bool,
}

/// Where an event without a connected account is filed.
pub const PLATFORM: &str = "platform";

impl DeadLetter {
    /// A dead letter for `raw_body`, with what can be read of it (`id`, `type`, `account` or
    /// `context`, `livemode`) even when it is not an event we understand.
    pub fn of(route: &str, raw_body: &[u8], reason: &str, received_at: i64) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(raw_body).ok();
        let text = |field: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(field))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let truncated = raw_body.len() > MAX_PAYLOAD_BYTES;
        let kept = &raw_body[..raw_body.len().min(MAX_PAYLOAD_BYTES)];
        DeadLetter {
            account_id: text("account")
                .or_else(|| text("context"))
                .filter(|a| crate::merchants::is_account_id(a))
                .unwrap_or_else(|| PLATFORM.to_string()),
            event_id: text("id")
                .filter(|id| !id.is_empty() && id.len() <= 255)
                .unwrap_or_else(|| format!("unidentified-{received_at}")),
            event_type: text("type"),
            route: route.to_string(),
            livemode: parsed
                .as_ref()
                .and_then(|v| v.get("livemode"))
                .and_then(Value::as_bool),
            reason: reason.to_string(),
            received_at,
            payload: String::from_utf8_lossy(kept).into_owned(),
            truncated,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_can_be_read_is_kept_and_the_rest_is_still_stored() {
        let body = br#"{"id":"evt_1","type":"checkout.session.completed","account":"acct_1A","livemode":true}"#;
        let letter = DeadLetter::of("webhooks", body, "wrong mode", 7);
        assert_eq!(
            (
                letter.account_id.as_str(),
                letter.event_id.as_str(),
                letter.event_type.as_deref(),
                letter.livemode
            ),
            (
                "acct_1A",
                "evt_1",
                Some("checkout.session.completed"),
                Some(true)
            )
        );
        assert_eq!(letter.payload.as_bytes(), body);
        let garbage = DeadLetter::of("events", b"\xff not json", "unreadable", 9);
        assert_eq!(garbage.account_id, PLATFORM);
        assert_eq!(garbage.event_id, "unidentified-9");
        assert!(!garbage.truncated);
        let thin = br#"{"id":"evt_2","object":"v2.core.event","context":"acct_1B"}"#;
        assert_eq!(DeadLetter::of("events", thin, "x", 1).account_id, "acct_1B");
    }

    #[test]
    fn huge_bodies_are_cut_and_say_so() {
        let body = vec![b'a'; MAX_PAYLOAD_BYTES + 10];
        let letter = DeadLetter::of("webhooks", &body, "x", 1);
        assert!(letter.truncated);
        assert_eq!(letter.payload.len(), MAX_PAYLOAD_BYTES);
    }
}
