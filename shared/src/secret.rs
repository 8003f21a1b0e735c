//! A wrapper that keeps secrets (`sk_…`, `rk_…`, `whsec_…`) out of logs, errors and reports.

use std::fmt;

/// A secret string. `Debug` and `Display` never show it; only [`Secret::expose`] does, and
/// callers use that at the one place the value goes on the wire or into an HMAC.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What a secret may look like in a message: its kind prefix and last four characters,
    /// the way Stripe masks keys (`sk_test_****abcd`).
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// The prefixes of Stripe's secret and restricted keys and of signing secrets.
pub const SECRET_PREFIXES: [&str; 5] = ["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"];

/// Masks any secret-looking string: keeps a known prefix and the last four characters.
pub fn mask(value: &str) -> String {
    let prefix = SECRET_PREFIXES
        .into_iter()
        .find(|p| value.starts_with(p))
        .unwrap_or("");
    let rest = &value[prefix.len()..];
    let tail: String = if rest.chars().count() > 8 {
        rest.chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    } else {
        String::new()
    };
    format!("{prefix}****{tail}")
}

/// Masks anything in `text` that looks like a Stripe secret (`sk_…`, `rk_…`, `whsec_…`), the
/// way Stripe does (`sk_test_****abcd`): a last guard on every error message printed.
pub fn redact(text: &str) -> String {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(|c: char| is_word(c)) {
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
        let word = &rest[..end];
        let secret = SECRET_PREFIXES
            .iter()
            .any(|p| word.starts_with(p) && word.len() > p.len());
        if secret {
            out.push_str(&mask(word));
        } else {
            out.push_str(word);
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_messages_are_masked() {
        let text = "bad key sk_test_51abcdefghijklmnop, also whsec_0123456789abcdef; expected sk_test_… or rk_…";
        let redacted = redact(text);
        assert!(!redacted.contains("51abcdefghijklmnop"), "{redacted}");
        assert!(!redacted.contains("0123456789abcdef"), "{redacted}");
        assert!(redacted.contains("sk_test_****mnop"), "{redacted}");
        assert!(
            redacted.ends_with("; expected sk_test_… or rk_…"),
            "{redacted}"
        );
        assert_eq!(
            redact("acct_1X cs_test_1 (12.50 USD)"),
            "acct_1X cs_test_1 (12.50 USD)"
        );
    }

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("sk_test_51AbCdEfGhIjKlMnOpQrStUv");
        let shown = format!("{s} {s:?}");
        assert!(!shown.contains("51AbCdEfGhIjKlMnOpQr"), "{shown}");
        assert!(shown.contains("sk_test_****StUv"), "{shown}");
    }

    #[test]
    fn short_secrets_show_nothing_of_their_tail() {
        assert_eq!(mask("whsec_abc"), "whsec_****");
        assert_eq!(mask("hunter2"), "****");
    }
}
