//! Import events only nudge the uploader. A v2 import's thin event or a v1 import set's
//! webhook makes the webhooks function put `catalog.import.changed` on the bundle's event
//! bus and answer at once; an EventBridge rule invokes the catalog uploader with it
//! asynchronously, and the uploader moves the feed forward (poll, report copy, SKU
//! records) under its own 15-minute timeout, lease and time budget. The webhooks function
//! needs neither the bucket nor the uploader's stores, and a slow completion can no longer
//! hold up Stripe's deliveries. Without a bus the schedule's poll still finishes imports.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ImportEvents;
use crate::event_bus::{DeployedOrderEvents, EventBridgeOrderEvents};
use crate::merchants::is_account_id;

/// The `detail-type` of a nudge on the bus (the uploader's rule matches it).
pub const NUDGE_DETAIL_TYPE: &str = "catalog.import.changed";

/// What a nudge says: this account's import (Stripe's id) changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportNudge {
    pub account_id: String,
    pub import_id: String,
}

impl ImportNudge {
    /// The nudge an EventBridge event carries: None when the event is not one; an error
    /// when it says it is but does not hold a connected account and an import id.
    pub fn from_event(event: &Value) -> Option<Result<Self, String>> {
        if event.get("detail-type").and_then(Value::as_str) != Some(NUDGE_DETAIL_TYPE) {
            return None;
        }
        let nudge = serde_json::from_value::<ImportNudge>(event["detail"].clone())
            .map_err(|e| format!("a {NUDGE_DETAIL_TYPE} event without its detail: {e}"))
            .and_then(|n| {
                let id_ok = !n.import_id.is_empty()
                    && n.import_id.len() <= 255
                    && n.import_id
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_');
                match (is_account_id(&n.account_id), id_ok) {
                    (true, true) => Ok(n),
                    _ => Err(format!(
                        "a {NUDGE_DETAIL_TYPE} event for {:?} / {:?}: not a connected account and a Stripe import id",
                        n.account_id, n.import_id
                    )),
                }
            });
        Some(nudge)
    }
}

/// Where the webhooks function sends nudges: the bus its order events go to (one client,
/// built once with them), or, offline, the log.
#[derive(Debug, Clone)]
pub enum Nudger {
    Bus(EventBridgeOrderEvents),
    /// Offline runs without an EventBridge emulator: the nudge is logged, and the local
    /// stack's schedule moves the feed.
    Logged,
}

impl Nudger {
    /// Nudges go wherever the order events go.
    pub fn for_events(events: &DeployedOrderEvents) -> Self {
        match events.bus() {
            Some(bus) => Nudger::Bus(bus.clone()),
            None => Nudger::Logged,
        }
    }

    async fn send(&self, nudge: &ImportNudge) -> Result<(), String> {
        let Nudger::Bus(bus) = self else {
            tracing::info!(account = %nudge.account_id, import = %nudge.import_id, "import nudge (offline: logged; the schedule moves the feed)");
            return Ok(());
        };
        let detail = serde_json::to_string(nudge).map_err(|e| e.to_string())?;
        bus.put(NUDGE_DETAIL_TYPE, detail).await
    }
}

/// The webhooks function's side: a nudge sent is the event handled (`"nudged"`); a nudge
/// the bus would not take is an error, so Stripe delivers the event again.
impl ImportEvents for Nudger {
    async fn import_changed(
        &self,
        account: &str,
        import_id: &str,
    ) -> Result<Option<String>, String> {
        let nudge = ImportNudge {
            account_id: account.to_string(),
            import_id: import_id.to_string(),
        };
        self.send(&nudge).await?;
        Ok(Some("nudged".to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail: Value) -> Value {
        json!({"version": "0", "id": "e1", "source": "agentic-commerce.stack",
               "detail-type": NUDGE_DETAIL_TYPE, "detail": detail})
    }

    #[test]
    fn a_nudge_is_read_from_its_event_and_anything_else_is_not_one() {
        let good = event(json!({"account_id": "acct_1Shop", "import_id": "pcimprt_123"}));
        assert_eq!(
            ImportNudge::from_event(&good),
            Some(Ok(ImportNudge {
                account_id: "acct_1Shop".into(),
                import_id: "pcimprt_123".into()
            }))
        );
        let schedule = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
        assert_eq!(ImportNudge::from_event(&schedule), None);
        for bad in [
            json!({"account_id": "acct_../x", "import_id": "pcimprt_1"}),
            json!({"account_id": "acct_1Shop", "import_id": ""}),
            json!({"account_id": "acct_1Shop", "import_id": "pcimprt_1/../../x"}),
            json!({"account_id": "acct_1Shop"}),
            json!("not an object"),
        ] {
            assert!(
                matches!(ImportNudge::from_event(&event(bad.clone())), Some(Err(_))),
                "{bad}"
            );
        }
    }

    #[tokio::test]
    async fn offline_a_nudge_is_logged_and_the_event_counts_as_handled() {
        assert_eq!(
            Nudger::Logged
                .import_changed("acct_1Shop", "impset_1")
                .await
                .unwrap()
                .as_deref(),
            Some("nudged")
        );
    }
}
