//! `stripe-sim`: a stateful emulator of the Stripe API endpoints this bundle uses, served on
//! loopback for tests and for the offline stack.
//!
//! Two surfaces share one state:
//! - `/v1/...`: Stripe's own API shapes, auth, `Stripe-Account` scoping, idempotency,
//!   bracket-encoded forms, `expand[]` and error bodies (see the `api` module).
//! - `/_sim/...`: unauthenticated JSON control endpoints that make things happen which, on
//!   real Stripe, a buyer or a card network would cause (agentic purchases, expiries,
//!   failed payments, disputes), plus fault injection and webhook inspection (see the `control` module).
//!
//! Stripe's API rate limits ([`RateLimits`], off by default) and request statistics are
//! counted in `state::traffic`, on every authenticated `/v1` and `/v2` request.
//!
//! Catalog feeds (v1 import sets, v2 product catalog imports, their processing and thin
//! events) live in the `catalog` module; the Files API they read from is `api::files`.
//!
//! Checkout hooks (Stripe calling the platform's `customize_checkout` and
//! `finalize_checkout` during an agentic purchase, [`HooksConfig`]) live in the `hooks`
//! module; the purchase applies their answers in `checkout`.
//!
//! What the emulator remembers is in `state`, which depends on none of the modules that
//! act on it (they all depend on `state`).

mod agreements;
mod api;
mod body;
mod catalog;
mod checkout;
mod control;
mod errors;
mod expand;
mod faults;
mod form;
mod hooks;
mod idempotency;
mod ids;
mod model;
mod rate_limits;
mod state;
mod timestamps;
mod versions;
mod webhooks;

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use rate_limits::RateLimits;
pub use webhooks::{sign as sign_payload, signature_header};

#[derive(Clone)]
pub struct SimConfig {
    /// Accepted secret keys.
    pub api_keys: Vec<String>,
    /// Where snapshot events are POSTed; `None` records them without delivering.
    pub webhook_url: Option<String>,
    /// Secret used to sign deliveries.
    pub webhook_secret: String,
    /// Defaults for every delivery.
    pub delivery: DeliveryOptions,
    /// Put in events' `api_version`.
    pub api_version: String,

    /// Accepted `purpose` values of `POST /v1/files` (all of them catalog-feed purposes:
    /// CSV or TSV only). Stripe's beta surface has moved before, hence configurable.
    pub file_purposes: Vec<String>,
    /// Largest file `POST /v1/files` accepts (Stripe: 200 MB).
    pub max_file_bytes: u64,
    /// Largest body a v2 upload URL accepts (Stripe: 4 GB).
    pub max_upload_bytes: u64,
    /// Path of the v1 import sets resource.
    pub import_sets_path: String,
    /// What `Stripe-Version` must contain for import sets (the beta flag).
    pub import_sets_beta: String,
    /// How long after its upload an import finishes (0: on the next read, or at once in
    /// the background). Over a day: only when read after the delay or forced.
    pub processing_delay_ms: u64,
    /// Lifetime of a v2 error-file download URL (Stripe: 5 minutes); every read of the
    /// import mints a new one.
    pub error_file_url_ttl: Duration,
    /// Lifetime of a v2 upload URL.
    pub upload_url_ttl: Duration,
    /// Minimum time between two imports of the same account and feed (Stripe: 15
    /// minutes); 0 disables the rule.
    pub min_import_interval_ms: u64,
    /// Stripe's API rate limits ([`RateLimits::live`], [`RateLimits::sandbox`] or custom),
    /// counted per platform over sliding seconds; `None` (the default) turns them off. Also
    /// settable at run time with `POST /_sim/rate_limits`.
    pub rate_limits: Option<RateLimits>,
    /// Where v2 thin events are POSTed; `None` records them without delivering.
    pub thin_event_url: Option<String>,
    /// Secret that signs thin-event deliveries (the thin event destination's own).
    pub thin_event_secret: String,
    /// Base of the URLs the emulator hands out (upload and download URLs); defaults to
    /// the bound address.
    pub public_base_url: Option<String>,
    /// Inventory and pricing rows whose `id` is not in the catalog are row errors.
    pub inventory_requires_product: bool,
    /// The platform's checkout hooks (`customize_checkout`, `finalize_checkout`) that an
    /// agentic purchase calls; `None` (or an unset URL) skips them.
    pub hooks: Option<HooksConfig>,
    /// What `Stripe-Version` must contain for the agreements API (a preview surface).
    pub agreements_version_marker: String,
    /// The beta flag (a `;`-separated part of `Stripe-Version`) an account session with the
    /// private-preview `agentic_commerce_settings` component needs; `None` turns the rule off.
    pub account_sessions_beta: Option<String>,
}

/// Where and how Stripe calls the platform's checkout hooks (docs/stripe.md §3). Also settable
/// at run time with `POST /_sim/hooks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HooksConfig {
    /// `v1.delegated_checkout.customize_checkout` destination; unset: not called.
    pub customize_url: Option<String>,
    /// `v1.delegated_checkout.finalize_checkout` destination; unset: not called (approved).
    pub finalize_url: Option<String>,
    /// Signing secret of the "Agentic Commerce Extension" destination (not the webhook one).
    pub secret: String,
    /// Per-call deadline (Stripe: 4 s for finalize, on timeout it declines; assumed for
    /// customize too).
    pub timeout_ms: u64,
    /// Put `checkout_session` into finalize's `data`. Off by default: Stripe's documented
    /// finalize payload names no session (docs/stripe.md §3.4), so the platform must not
    /// need one; on, it shows how an exact session match behaves.
    pub finalize_sends_session: bool,
}

impl Default for HooksConfig {
    fn default() -> Self {
        Self {
            customize_url: None,
            finalize_url: None,
            secret: "whsec_test_hooks_sim".into(),
            timeout_ms: 4000,
            finalize_sends_session: false,
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            api_keys: vec!["sk_test_sim".into()],
            webhook_url: None,
            webhook_secret: "whsec_test_sim".into(),
            delivery: DeliveryOptions::default(),
            api_version: "2025-12-15.preview".into(),
            file_purposes: vec!["data_management_manual_upload".into()],
            max_file_bytes: 200 << 20,
            max_upload_bytes: 4 << 30,
            import_sets_path: "/v1/data_management/import_sets".into(),
            import_sets_beta: "udap_beta=v1".into(),
            processing_delay_ms: 0,
            error_file_url_ttl: Duration::from_secs(300),
            upload_url_ttl: Duration::from_secs(3600),
            min_import_interval_ms: 0,
            rate_limits: None,
            thin_event_url: None,
            thin_event_secret: "whsec_test_thin_sim".into(),
            public_base_url: None,
            inventory_requires_product: true,
            hooks: None,
            agreements_version_marker: "preview".into(),
            account_sessions_beta: Some("embedded_connect_beta=v2".into()),
        }
    }
}

/// How events reach the webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryOptions {
    /// Extra copies of each event.
    pub duplicates: u32,
    /// Deliver a batch in reverse order (deterministic, so tests can assert on it).
    pub reorder: bool,
    /// Pause before each delivery.
    pub delay_ms: u64,
    /// Attempts per copy while the endpoint answers non-2xx or not at all (at least 1).
    pub max_attempts: u32,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            duplicates: 0,
            reorder: false,
            delay_ms: 0,
            max_attempts: 3,
        }
    }
}

/// A running emulator. Dropping it stops the server too; [`SimHandle::shutdown`] also waits.
pub struct SimHandle {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`, the value for a client's Stripe API base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            // Graceful shutdown waits for open connections; a stuck client must not hang us.
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Binds `127.0.0.1:port` (0 picks a free port) and serves the emulator on the current
/// tokio runtime.
pub async fn start(config: SimConfig, port: u16) -> std::io::Result<SimHandle> {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    let mut sim = state::Sim::new(config)?;
    if sim.config.public_base_url.is_none() {
        sim.base_url = format!("http://{addr}");
    }
    let sim = Arc::new(sim);
    let app = api::router(sim);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "stripe-sim server stopped");
        }
    });
    tracing::info!(%addr, "stripe-sim listening");
    Ok(SimHandle {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}
