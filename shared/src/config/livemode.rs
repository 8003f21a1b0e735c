//! A live deployment never runs on test credentials. The API key's own mode is checked in
//! [`super::stripe_secret_key`] (a `sk_test_`/`rk_test_` key with `STRIPE_LIVEMODE=true`, or a
//! live key without it, stops the load). Signing secrets carry no mode, but the ones this
//! repository publishes (the local stack, `events/`, stripe-sim, the benches and the SDK
//! conformance runs sign with them) are known to anyone: a live deployment refuses them.

use super::ConfigError;
use crate::secret::Secret;

/// Every signing secret committed in this repository for local use and tests. Anyone can
/// sign with them, so `STRIPE_LIVEMODE=true` refuses them (`config::livemode` tests keep this
/// list complete against `local/`, `events/`, the benches, README.md and docs/).
pub const PUBLISHED_TEST_SECRETS: &[&str] = &[
    // local stack and events/ (local/sample-events/src/fixtures.rs, README)
    "whsec_test_agentic_commerce_local",
    "whsec_test_hooks_local",
    "whsec_test_thin_events_local",
    // stripe-sim's defaults and its tests
    "whsec_test_sim",
    "whsec_test_thin_sim",
    "whsec_test_hooks_sim",
    "whsec_test_hooks_platform",
    "whsec_test",
    "whsec_other",
    "whsec_flag",
    "whsec_rotated",
    "whsec_rotated_thin",
    "whsec_wrong",
    // the stripe-node signature vector (local/vectors, shared/tests/vectors)
    "whsec_test_vector_5f3c1e0a9b7d4c2e",
    // benches
    "whsec_bench",
    "whsec_bench_hooks",
    "whsec_bench_0123456789abcdef0123456789abcdef",
    "whsec_old_secret_value",
    // SDK conformance runs (local/conformance)
    "whsec_node_webhooks",
    "whsec_node_thin",
    "whsec_node_hooks",
    "whsec_py_webhooks",
    "whsec_py_thin",
    "whsec_py_hooks",
    // end-to-end tests of the functions and the CLI
    "whsec_test_thin_local",
    "whsec_test_import_sets",
    "whsec_cliEventsTestSecret0123456789",
];

/// Refuses, for the setting `name` of a live deployment, any secret this repository
/// publishes. The message names the setting and says which entry; never the value.
pub(super) fn refuse_published_secrets(name: &str, secrets: &[Secret]) -> Result<(), ConfigError> {
    match secrets
        .iter()
        .position(|s| PUBLISHED_TEST_SECRETS.contains(&s.expose()))
    {
        None => Ok(()),
        Some(index) => Err(ConfigError::Malformed {
            name: name.into(),
            reason: format!(
                "entry {} of {} is one of the test signing secrets published with this bundle \
                 (local stack, events/, stripe-sim); STRIPE_LIVEMODE=true needs the signing \
                 secret Stripe shows for the live endpoint",
                index + 1,
                secrets.len()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Env, WebhooksSecrets, secret_names, stripe_secret_key, test_env};
    use std::path::{Path, PathBuf};

    /// A live-mode key's shape, assembled so that no key-shaped literal is committed.
    const LIVE_KEY: &str = concat!("sk_", "live_", "51abcdefghijklmnopqrstuvwxyz");

    fn live(extra: &[(&'static str, &'static str)]) -> Env {
        let mut vars = vec![("STRIPE_LIVEMODE", "true"), ("STRIPE_SECRET_KEY", LIVE_KEY)];
        vars.extend_from_slice(extra);
        test_env(&vars)
    }

    #[test]
    fn a_live_deployment_refuses_every_published_signing_secret_without_printing_it() {
        for name in [
            secret_names::STRIPE_WEBHOOK_SECRETS,
            secret_names::STRIPE_THIN_EVENT_SECRETS,
            secret_names::STRIPE_HOOK_SECRETS,
        ] {
            for published in PUBLISHED_TEST_SECRETS {
                // Rolling: a genuine secret first, the published one second.
                let value = format!("whsec_genuineLiveSecret12345,{published}");
                let env = Env::from_map([("STRIPE_LIVEMODE", "true".to_string()), (name, value)]);
                let message = env.secret_list(name, "whsec_").unwrap_err().to_string();
                assert!(
                    message.contains(name) && message.contains("entry 2 of 2"),
                    "{message}"
                );
                assert!(
                    !message.contains(published) && !message.contains("genuineLiveSecret"),
                    "{message}"
                );
            }
        }
    }

    #[test]
    fn test_mode_accepts_them_and_live_mode_accepts_genuine_secrets() {
        let env = test_env(&[(
            "STRIPE_WEBHOOK_SECRETS",
            "whsec_test_agentic_commerce_local",
        )]);
        assert!(WebhooksSecrets::from_env(&env, false).is_ok());
        let env = live(&[("STRIPE_WEBHOOK_SECRETS", "whsec_genuineLiveSecret12345")]);
        assert!(WebhooksSecrets::from_env(&env, true).is_ok());
        let env = live(&[(
            "STRIPE_WEBHOOK_SECRETS",
            "whsec_test_agentic_commerce_local",
        )]);
        let message = WebhooksSecrets::from_env(&env, true)
            .unwrap_err()
            .to_string();
        assert!(message.contains("STRIPE_WEBHOOK_SECRETS"), "{message}");
    }

    #[test]
    fn a_test_key_is_refused_in_live_mode_and_a_live_key_in_test_mode() {
        for key in [
            "sk_test_local_stack",
            "sk_test_sim",
            "rk_test_51abcdefghijklmnopqrstuv",
        ] {
            let env = Env::from_map([("STRIPE_LIVEMODE", "true"), ("STRIPE_SECRET_KEY", key)]);
            let message = stripe_secret_key(&env, true).unwrap_err().to_string();
            assert!(
                message.contains("STRIPE_SECRET_KEY") && message.contains("STRIPE_LIVEMODE"),
                "{message}"
            );
            assert!(!message.contains(&key[8..]), "{message}");
        }
        let env = Env::from_map([("STRIPE_SECRET_KEY", LIVE_KEY)]);
        let message = stripe_secret_key(&env, false).unwrap_err().to_string();
        assert!(
            message.contains("STRIPE_SECRET_KEY") && !message.contains("abcdefghijkl"),
            "{message}"
        );
    }

    /// Every `whsec_…` value written in the places that publish test secrets is on the list.
    #[test]
    fn the_list_covers_every_signing_secret_published_in_the_repository() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut places: Vec<PathBuf> = ["local", "events", "shared/benches", "docs", "README.md"]
            .iter()
            .map(|p| root.join(p))
            .collect();
        for function in std::fs::read_dir(root.join("functions")).unwrap() {
            places.push(function.unwrap().path().join("benches"));
        }
        let mut found = Vec::new();
        for place in places {
            collect_signing_secrets(&place, &mut found);
        }
        assert!(
            found.iter().any(|s| s == "whsec_test_hooks_local"),
            "the scan found the local stack's secrets: {found:?}"
        );
        let missing: Vec<&String> = found
            .iter()
            .filter(|s| !PUBLISHED_TEST_SECRETS.contains(&s.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "add to PUBLISHED_TEST_SECRETS: {missing:?}"
        );
    }

    fn collect_signing_secrets(path: &Path, found: &mut Vec<String>) {
        let skip = ["target", "node_modules", ".local", ".venv"];
        if path.is_dir() {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if skip.contains(&name) {
                return;
            }
            for entry in std::fs::read_dir(path).unwrap() {
                collect_signing_secrets(&entry.unwrap().path(), found);
            }
            return;
        }
        let Ok(text) = std::fs::read_to_string(path) else {
            return; // not text
        };
        let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let mut rest = text.as_str();
        while let Some(start) = rest.find("whsec_") {
            let after = &rest[start..];
            let end = after.find(|c: char| !is_word(c)).unwrap_or(after.len());
            let word = &after[..end];
            // `whsec_…` placeholders and one-letter stand-ins are not secrets anyone signs with.
            let preceded_by_word = rest[..start].chars().next_back().is_some_and(is_word);
            if word.len() >= "whsec_".len() + 4
                && !preceded_by_word
                && !found.iter().any(|f| f == word)
            {
                found.push(word.to_string());
            }
            rest = &after[end.max(1)..];
        }
    }
}
