//! Everything the emulator remembers, behind one mutex.
//!
//! Handlers hold the lock only for synchronous work (no `.await` while locked), so a
//! std mutex is enough and keeps each request's reads and writes atomic, the way a
//! single Stripe API call is.

use crate::agreements::AgreementStore;
use crate::catalog::CatalogStore;
use crate::faults::Fault;
use crate::hooks::HookCall;
use crate::idempotency::{IdemEntry, IdemKey};
use crate::model::{
    Charge, CheckoutSession, Dispute, PaymentIntent, Price, Product, Refund, ShippingRate, TaxRate,
};
use crate::timestamps::{now, rfc3339};
use crate::{HooksConfig, SimConfig};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// The connected account an object belongs to; `None` is the platform itself.
pub type Scope = Option<String>;

/// One account's objects. Stripe keeps connected accounts' objects apart, so a lookup
/// under the wrong `Stripe-Account` finds nothing.
#[derive(Default)]
pub struct AccountData {
    pub products: HashMap<String, Product>,
    pub prices: HashMap<String, Price>,
    pub tax_rates: HashMap<String, TaxRate>,
    pub shipping_rates: HashMap<String, ShippingRate>,
    pub sessions: HashMap<String, CheckoutSession>,
    pub payment_intents: HashMap<String, PaymentIntent>,
    pub charges: HashMap<String, Charge>,
    pub refunds: HashMap<String, Refund>,
    pub disputes: HashMap<String, Dispute>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeliveryRecord {
    /// HTTP status of the attempt; `None` when no response came back.
    pub status: Option<u16>,
    pub attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
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

pub struct Store {
    accounts: HashMap<Scope, AccountData>,
    events: Vec<EventRecord>,
    event_index: HashMap<String, usize>,
    pub idempotency: HashMap<IdemKey, IdemEntry>,
    pub faults: Vec<Fault>,
    pub webhook: WebhookTarget,
    /// The event destination for v2 thin events (`event_payload: "thin"`).
    pub thin_webhook: WebhookTarget,
    pub catalog: CatalogStore,
    /// Orchestrated-commerce agreements, by id.
    pub agreements: AgreementStore,
    /// The checkout hooks' destinations and secret (from the config, changed by `/_sim/hooks`).
    pub hooks: HooksConfig,
    /// Every hook request sent and what came back, oldest first.
    pub hook_calls: Vec<HookCall>,
    seq: u64,
}

impl Store {
    fn new(config: &SimConfig) -> Self {
        Self {
            accounts: HashMap::new(),
            events: Vec::new(),
            event_index: HashMap::new(),
            idempotency: HashMap::new(),
            faults: Vec::new(),
            webhook: WebhookTarget {
                url: config.webhook_url.clone(),
                secret: config.webhook_secret.clone(),
            },
            thin_webhook: WebhookTarget {
                url: config.thin_event_url.clone(),
                secret: config.thin_event_secret.clone(),
            },
            catalog: CatalogStore::new(config),
            agreements: AgreementStore::default(),
            hooks: config.hooks.clone().unwrap_or_default(),
            hook_calls: Vec::new(),
            seq: 0,
        }
    }

    /// Creates the account's (empty) space on first use; no registry of accounts exists.
    pub fn account(&mut self, scope: &Scope) -> &mut AccountData {
        self.accounts.entry(scope.clone()).or_default()
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

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

pub struct Sim {
    pub config: SimConfig,
    /// Where clients reach this emulator, for the pre-signed URLs it hands out.
    pub base_url: String,
    store: Mutex<Store>,
    /// One client for every webhook delivery, so connections to the receiver are reused.
    pub http: reqwest::Client,
}

impl Sim {
    pub fn new(config: SimConfig) -> std::io::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            // Stripe does not follow redirects from webhook endpoints; neither do we.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        Ok(Self {
            store: Mutex::new(Store::new(&config)),
            base_url: config
                .public_base_url
                .clone()
                .unwrap_or_else(|| "http://127.0.0.1".into()),
            config,
            http,
        })
    }

    /// A panicking handler must not wedge the emulator for every later test, so a
    /// poisoned lock is taken over rather than propagated.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn reset(&self) {
        *self.lock() = Store::new(&self.config);
    }
}
