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

/// Masks any secret-looking string: keeps a known prefix and the last four characters.
pub fn mask(value: &str) -> String {
    let prefix = ["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"]
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
