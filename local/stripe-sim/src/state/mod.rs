//! Everything the emulator remembers, behind one mutex.
//!
//! Handlers hold the lock only for synchronous work (no `.await` while locked), so a
//! std mutex is enough and keeps each request's reads and writes atomic, the way a
//! single Stripe API call is.
//!
//! The child modules hold the data of each area (the event log, catalog feeds,
//! agreements, faults, hook calls, idempotency keys, API traffic) and depend on nothing
//! that acts on it, so the modules that act (`catalog`, `agreements`, `faults`, ...) depend
//! on `state` and never the other way round.

pub mod agreements;
pub mod catalog;
pub mod events;
pub mod faults;
pub mod files;
pub mod hooks;
pub mod idempotency;
pub mod imports;
pub mod traffic;

use crate::model::{
    Charge, CheckoutSession, Dispute, PaymentIntent, Price, Product, Refund, ShippingRate, TaxRate,
};
use crate::{HooksConfig, SimConfig};
use agreements::AgreementStore;
use catalog::CatalogStore;
use events::{EventRecord, WebhookDrops, WebhookTarget};
use faults::Fault;
use hooks::HookCall;
use idempotency::{IdemEntry, IdemKey};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use traffic::Traffic;

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

pub struct Store {
    accounts: HashMap<Scope, AccountData>,
    events: Vec<EventRecord>,
    event_index: HashMap<String, usize>,
    pub idempotency: HashMap<IdemKey, IdemEntry>,
    pub faults: Vec<Fault>,
    pub webhook: WebhookTarget,
    /// Snapshot deliveries to lose on purpose (`/_sim/webhook_drops`).
    pub webhook_drops: WebhookDrops,
    /// The event destination for v2 thin events (`event_payload: "thin"`).
    pub thin_webhook: WebhookTarget,
    pub catalog: CatalogStore,
    /// Orchestrated-commerce agreements, by id.
    pub agreements: AgreementStore,
    /// The checkout hooks' destinations and secret (from the config, changed by `/_sim/hooks`).
    pub hooks: HooksConfig,
    /// Every hook request sent and what came back, oldest first.
    pub hook_calls: Vec<HookCall>,
    /// Rate limits (from the config, changed by `/_sim/rate_limits`) and request statistics.
    pub traffic: Traffic,
    seq: u64,
}

impl Store {
    pub(crate) fn new(config: &SimConfig) -> Self {
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
            webhook_drops: WebhookDrops::default(),
            thin_webhook: WebhookTarget {
                url: config.thin_event_url.clone(),
                secret: config.thin_event_secret.clone(),
            },
            catalog: CatalogStore::new(config),
            agreements: AgreementStore::default(),
            hooks: config.hooks.clone().unwrap_or_default(),
            hook_calls: Vec::new(),
            traffic: Traffic::new(config.rate_limits),
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
