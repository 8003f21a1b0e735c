//! Nothing lost: a scheduled pass over each merchant's completed checkout sessions at Stripe
//! that records every order the webhooks missed.
//!
//! Per merchant (connected account), the pass lists `status=complete` sessions created at
//! or after the merchant's watermark less an overlap (a session completes after it was
//! created, up to its expiry, 24 h by default), newest first, 100 a page. A session whose
//! order exists is skipped with one read; a missing one is recorded through
//! [`record_order`], the path of `checkout.session.completed`: the same expanded retrieval,
//! the same order, the same conditional insert (created once, however often both paths
//! find it), the same stock conversion and the same `order.created` event.
//!
//! Progress is stored after each page whose orders are all recorded (a scan cursor), and
//! the watermark moves to the scan's start only when its last page is done, so a pass cut
//! short by its time budget, a failure or a crash resumes where it stopped. Merchants are
//! taken least recently reconciled first, a few at a time; the pass stops starting work
//! when the invocation's budget runs low, and those not reached go first next time.
//!
//! Tenancy: the account is the merchant record's (the request scope, sent as
//! `Stripe-Account`); a listed session is retrieved under that same account and must come
//! back as itself, or it is refused and nothing is recorded.

use std::time::Duration;

use futures::StreamExt;

use crate::budget;
use crate::clock::Clock;
use crate::metrics::Metrics;
use crate::orders::{EventSource, OrderEventSink, ReconcileState, ScanCursor};
use crate::store::{OrderStore, ReconcileProgress, StockHolds, StoreError};
use crate::stripe::checkout::{CheckoutSessionApi, CheckoutSessionList, ListedSession};
use crate::webhooks::orders::{EventOutcome, OrderPorts, record_order};

#[cfg(test)]
mod tests;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconcileSettings {
    /// Each scan re-lists this much before the watermark (seconds): sessions completed
    /// after the last scan but created before it. Stripe's checkout sessions expire at
    /// most 24 h after creation, so 24 h covers every late completion.
    pub overlap_seconds: i64,
    /// A merchant never scanned is scanned this far back (seconds).
    pub initial_lookback_seconds: i64,
    /// Merchants worked on at once.
    pub concurrency: usize,
    /// No new page or order is started with less budget than this left.
    pub reserve: Duration,
    /// This deployment's mode: a session of the other mode is refused.
    pub livemode: bool,
}

impl Default for ReconcileSettings {
    fn default() -> Self {
        Self {
            overlap_seconds: 24 * 3600,
            initial_lookback_seconds: 3 * 24 * 3600,
            concurrency: 4,
            reserve: Duration::from_secs(20),
            livemode: false,
        }
    }
}

/// What happened to one merchant in one pass.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MerchantResult {
    /// The scan reached its last page; the watermark moved.
    Complete,
    /// Stopped for the time budget; resumes from the stored cursor.
    Incomplete,
    /// Another pass moved this merchant's progress meanwhile: left to it.
    Conflict,
    /// Stopped on an error; resumes from the last page fully recorded.
    Failed(String),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileSummary {
    pub merchants: usize,
    pub complete: usize,
    pub incomplete: usize,
    pub failed: usize,
    /// Not started this pass (budget): first in line next pass.
    pub not_reached: usize,
    /// Completed sessions listed.
    pub sessions_seen: usize,
    /// Orders the webhooks had missed, recorded now.
    pub orders_reconciled: usize,
}

pub struct Reconciler<O, A, R, E, W, C> {
    pub orders: O,
    pub stripe: A,
    pub stock: R,
    pub events: E,
    pub progress: W,
    pub clock: C,
    pub metrics: Metrics,
    pub settings: ReconcileSettings,
}

fn budget_low(reserve: Duration) -> bool {
    budget::remaining().is_some_and(|left| left < reserve)
}

/// Stripe ids are short ASCII: a listed id that is not a session id is refused before it is
/// used in a path or a key.
fn plausible_session_id(id: &str) -> bool {
    id.starts_with("cs_")
        && id.len() <= 255
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl<O, A, R, E, W, C> Reconciler<O, A, R, E, W, C>
where
    O: OrderStore,
    A: CheckoutSessionApi + CheckoutSessionList,
    R: StockHolds,
    E: OrderEventSink,
    W: ReconcileProgress,
    C: Clock,
{
    /// One pass over every registered merchant, within the current time budget.
    pub async fn run(&self) -> Result<ReconcileSummary, StoreError> {
        let mut merchants = self.progress.reconcile_states().await?;
        merchants.sort_by(|a, b| (a.1.last_run_millis, &a.0).cmp(&(b.1.last_run_millis, &b.0)));
        let mut summary = ReconcileSummary {
            merchants: merchants.len(),
            ..Default::default()
        };
        let mut results = futures::stream::iter(merchants)
            .map(|(account, state)| async move {
                if budget_low(self.settings.reserve) {
                    return None;
                }
                Some(self.merchant(&account, state).await)
            })
            .buffer_unordered(self.settings.concurrency.max(1));
        while let Some(result) = results.next().await {
            let Some((result, seen, reconciled)) = result else {
                summary.not_reached += 1;
                continue;
            };
            summary.sessions_seen += seen;
            summary.orders_reconciled += reconciled;
            match result {
                MerchantResult::Complete => summary.complete += 1,
                MerchantResult::Incomplete | MerchantResult::Conflict => summary.incomplete += 1,
                MerchantResult::Failed(_) => summary.failed += 1,
            }
        }
        Ok(summary)
    }

    /// Scans one merchant from its cursor (or a new scan from its watermark) until the last
    /// page, the budget or an error. Returns the result, sessions seen and orders recorded.
    pub async fn merchant(
        &self,
        account: &str,
        mut state: ReconcileState,
    ) -> (MerchantResult, usize, usize) {
        let now = self.clock.now_seconds();
        let mut scan = state.scan.clone().unwrap_or_else(|| ScanCursor {
            created_gte: match state.watermark {
                Some(watermark) => watermark - self.settings.overlap_seconds,
                None => now - self.settings.initial_lookback_seconds,
            },
            started_at: now,
            starting_after: None,
        });
        let (mut seen, mut reconciled) = (0, 0);
        let result = loop {
            if budget_low(self.settings.reserve) {
                break MerchantResult::Incomplete;
            }
            let page = match self
                .stripe
                .list_completed(account, scan.created_gte, scan.starting_after.as_deref())
                .await
            {
                Ok(page) => page,
                Err(e) => break MerchantResult::Failed(format!("listing sessions: {e}")),
            };
            seen += page.data.len();
            match self.record_page(account, &page.data, &mut reconciled).await {
                Ok(true) => {}
                Ok(false) => break MerchantResult::Incomplete,
                Err(message) => break MerchantResult::Failed(message),
            }
            let last = page.data.last().map(|s| s.id.clone());
            if !page.has_more || last.is_none() {
                state.watermark = Some(scan.started_at);
                state.scan = None;
                break MerchantResult::Complete;
            }
            scan.starting_after = last;
            state.scan = Some(scan.clone());
            if !self.save(account, &mut state, false).await {
                return (MerchantResult::Conflict, seen, reconciled);
            }
        };
        if let MerchantResult::Failed(message) = &result {
            self.metrics.count("ReconcileFailed", &[]);
            tracing::error!(account, error = %message, "reconciliation of this merchant failed; it resumes next run");
        }
        if !self.save(account, &mut state, true).await {
            return (MerchantResult::Conflict, seen, reconciled);
        }
        tracing::info!(account, result = ?result, sessions = seen, reconciled, "merchant reconciled");
        (result, seen, reconciled)
    }

    /// Records the page's missing orders. Ok(false): the budget ran low first (the page is
    /// done again next run; what is recorded now is skipped then).
    async fn record_page(
        &self,
        account: &str,
        sessions: &[ListedSession],
        reconciled: &mut usize,
    ) -> Result<bool, String> {
        let ports = OrderPorts {
            orders: &self.orders,
            stripe: &self.stripe,
            stock: &self.stock,
            events: &self.events,
        };
        for session in sessions {
            if !plausible_session_id(&session.id) {
                return Err(format!(
                    "Stripe listed an invalid session id {:?}",
                    session.id
                ));
            }
            if session.status.as_deref() != Some("complete") {
                continue;
            }
            if session.livemode != self.settings.livemode {
                return Err(format!(
                    "session {} is not of this deployment's mode",
                    session.id
                ));
            }
            let existing = self
                .orders
                .get(account, &session.id)
                .await
                .map_err(|e| format!("reading order {}: {e}", session.id))?;
            if existing.is_some() {
                continue;
            }
            if budget_low(self.settings.reserve) {
                return Ok(false);
            }
            match record_order(&ports, account, &session.id, EventSource::Reconciliation).await {
                Ok(EventOutcome::OrderCreated { .. }) => {
                    *reconciled += 1;
                    self.metrics.count("OrdersReconciled", &[]);
                    tracing::warn!(account, checkout_session_id = %session.id, "order the webhooks missed, recorded by reconciliation");
                }
                Ok(_) => {}
                Err(e) => return Err(format!("recording {}: {e}", session.id)),
            }
        }
        Ok(true)
    }

    /// Stores the merchant's progress (version + 1); `finished` also stamps the run time.
    /// False on a conflict or a store error (logged): the stored progress stays as it was,
    /// which only means re-listing pages whose orders are then skipped.
    async fn save(&self, account: &str, state: &mut ReconcileState, finished: bool) -> bool {
        let mut next = state.clone();
        next.version += 1;
        if finished {
            next.last_run_millis = self.clock.now_millis();
        }
        match self.progress.save_reconcile_state(account, &next).await {
            Ok(true) => {
                *state = next;
                true
            }
            Ok(false) => {
                tracing::warn!(
                    account,
                    "reconciliation progress moved by another run; leaving it"
                );
                false
            }
            Err(e) => {
                self.metrics.count("ReconcileFailed", &[]);
                tracing::error!(account, error = %e, "could not store reconciliation progress");
                false
            }
        }
    }
}
