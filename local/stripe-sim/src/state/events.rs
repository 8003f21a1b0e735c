//! The event log: every snapshot and thin event emitted, with its delivery attempts, and
//! where deliveries go.

use super::{Scope, Store};
use crate::timestamps::{now, rfc3339};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::SystemTime;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeliveryRecord {
    /// HTTP status of the attempt; `None` when no response came back.
    pub status: Option<u16>,
    pub attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Not sent at all: `/_sim/webhook_drops` told the emulator to lose this copy.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dropped: bool,
}

/// Snapshot-event deliveries to lose on purpose, so a test can prove that what the webhooks
/// never saw is still found (the event exists and `/_sim/events` lists it). Each copy of an
/// event (duplicates included) is one delivery; a dropped copy is not retried.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WebhookDrops {
    /// How many more matching deliveries are dropped.
    pub remaining: u32,
    /// Only events of these types count (empty: every snapshot event).
    pub types: Vec<String>,
    /// The events whose copies were dropped, in order.
    pub dropped: Vec<String>,
}

impl WebhookDrops {
    /// Whether this delivery of `event_id` (of type `kind`) is to be dropped; counts it.
    pub fn take(&mut self, event_id: &str, kind: &str) -> bool {
        if self.remaining == 0 || !(self.types.is_empty() || self.types.iter().any(|t| t == kind)) {
            return false;
        }
        self.remaining -= 1;
        self.dropped.push(event_id.to_string());
        true
    }
}

pub struct EventRecord {
    pub event: Value,
    pub deliveries: Vec<DeliveryRecord>,
    /// A v2 thin event: delivered to the thin-event destination with its own secret.
    pub thin: bool,
}

#[derive(Debug, Clone)]
pub struct WebhookTarget {
    pub url: Option<String>,
    pub secret: String,
}

/// The API request that caused an event, as Stripe reports it in `event.request`.
#[derive(Debug, Clone, Default)]
pub struct RequestInfo {
    pub id: Option<String>,
    pub idempotency_key: Option<String>,
}

impl Store {
    /// Records a snapshot event and returns its id; delivery is a separate step so a caller
    /// can emit a batch and hand it to the webhook sender in one go.
    pub fn emit(
        &mut self,
        api_version: &str,
        scope: &Scope,
        kind: &str,
        object: Value,
        previous_attributes: Option<Value>,
        request: &RequestInfo,
    ) -> String {
        let id = crate::ids::event();
        let mut data = json!({ "object": object });
        if let Some(previous) = previous_attributes {
            data["previous_attributes"] = previous;
        }
        let mut event = json!({
            "id": id,
            "object": "event",
            "api_version": api_version,
            "created": now(),
            "data": data,
            "livemode": false,
            "pending_webhooks": 1,
            "request": { "id": request.id, "idempotency_key": request.idempotency_key },
            "type": kind,
        });
        if let Some(account) = scope {
            event["account"] = json!(account);
        }
        self.event_index.insert(id.clone(), self.events.len());
        self.events.push(EventRecord {
            event,
            deliveries: Vec::new(),
            thin: false,
        });
        id
    }

    /// Records a v2 thin event (`object: "v2.core.event"`) about `related_object`.
    pub fn emit_thin(&mut self, scope: &Scope, kind: &str, related_object: Value) -> String {
        let id = crate::ids::v2_event();
        let event = json!({
            "id": id,
            "object": "v2.core.event",
            "type": kind,
            "created": rfc3339(SystemTime::now()),
            "livemode": false,
            "context": scope,
            "related_object": related_object,
            "reason": null,
        });
        self.event_index.insert(id.clone(), self.events.len());
        self.events.push(EventRecord {
            event,
            deliveries: Vec::new(),
            thin: true,
        });
        id
    }

    pub fn event(&self, id: &str) -> Option<&EventRecord> {
        self.event_index.get(id).and_then(|i| self.events.get(*i))
    }

    pub fn events(&self) -> &[EventRecord] {
        &self.events
    }

    pub fn record_delivery(&mut self, id: &str, record: DeliveryRecord) {
        if let Some(i) = self.event_index.get(id) {
            if let Some(event) = self.events.get_mut(*i) {
                event.deliveries.push(record);
            }
        }
    }
}
