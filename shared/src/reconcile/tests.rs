//! The reconciliation on in-memory stores and a fake Stripe that keeps sessions per account
//! and lists them as Stripe documents (newest first, `created[gte]`, `starting_after`, 100 a
//! page).

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::clock::ManualClock;
use crate::event_bus::MemoryOrderEvents;
use crate::store::memory::{MemoryOrders, MemoryReconcileProgress};
use crate::stripe::checkout::SessionPage;
use crate::stripe::objects::CheckoutSession;
use crate::stripe::{ApiErrorBody, StripeError};
use crate::webhooks::orders::NoStock;

const A: &str = "acct_1Alpha";
const B: &str = "acct_1Bravo";
const NOW: i64 = 1_800_000_000;
const FIXTURE: &str = include_str!("../../tests/fixtures/checkout_session_expanded.json");

#[derive(Default)]
struct FakeStripe {
    /// (account, session id) → the expanded session; `created` orders the list.
    sessions: Mutex<BTreeMap<(String, String), Value>>,
    /// The account whose list wrongly includes a session of another account.
    leaks: Mutex<Vec<(String, ListedSession)>>,
    failing: Mutex<HashSet<String>>,
    retrieves: AtomicUsize,
    lists: Mutex<Vec<(String, i64, Option<String>)>>,
    /// Simulated time each list call takes (advances tokio's paused clock).
    list_takes: Mutex<Duration>,
}

impl FakeStripe {
    fn add(&self, account: &str, n: usize, created: i64) -> Vec<String> {
        (0..n)
            .map(|i| {
                let id = format!("cs_test_{account}_{created}_{i:04}");
                let mut session: Value = serde_json::from_str(FIXTURE).unwrap();
                session["id"] = json!(id);
                session["created"] = json!(created);
                session["payment_intent"]["id"] = json!(format!("pi_{account}_{created}_{i:04}"));
                self.sessions
                    .lock()
                    .unwrap()
                    .insert((account.into(), id.clone()), session);
                id
            })
            .collect()
    }
}

fn not_found(id: &str) -> StripeError {
    StripeError::Api {
        status: 404,
        body: Box::new(ApiErrorBody {
            kind: "invalid_request_error".into(),
            code: Some("resource_missing".into()),
            message: Some(format!("No such checkout.session: '{id}'")),
            ..Default::default()
        }),
        request_id: None,
    }
}

impl CheckoutSessionApi for FakeStripe {
    async fn retrieve_for_order(
        &self,
        account: &str,
        session_id: &str,
    ) -> Result<CheckoutSession, StripeError> {
        self.retrieves.fetch_add(1, Ordering::SeqCst);
        if self.failing.lock().unwrap().contains(session_id) {
            return Err(StripeError::Network("connection reset".into()));
        }
        let sessions = self.sessions.lock().unwrap();
        let value = sessions
            .get(&(account.to_string(), session_id.to_string()))
            .ok_or_else(|| not_found(session_id))?;
        Ok(serde_json::from_value(value.clone()).unwrap())
    }

    async fn find_by_payment_intent(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<String>, StripeError> {
        Ok(None)
    }
}

impl CheckoutSessionList for FakeStripe {
    async fn list_completed(
        &self,
        account: &str,
        created_gte: i64,
        starting_after: Option<&str>,
    ) -> Result<SessionPage, StripeError> {
        let takes = *self.list_takes.lock().unwrap();
        if !takes.is_zero() {
            tokio::time::advance(takes).await;
        }
        self.lists.lock().unwrap().push((
            account.into(),
            created_gte,
            starting_after.map(str::to_string),
        ));
        let mut all: Vec<ListedSession> = self
            .sessions
            .lock()
            .unwrap()
            .iter()
            .filter(|((acct, _), s)| acct == account && s["status"] == "complete")
            .map(|((_, id), s)| ListedSession {
                id: id.clone(),
                created: s["created"].as_i64().unwrap(),
                status: Some("complete".into()),
                livemode: false,
            })
            .chain(
                self.leaks
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(acct, _)| acct == account)
                    .map(|(_, s)| s.clone()),
            )
            .filter(|s| s.created >= created_gte)
            .collect();
        all.sort_by(|a, b| (b.created, &b.id).cmp(&(a.created, &a.id)));
        let start = match starting_after {
            Some(after) => {
                all.iter()
                    .position(|s| s.id == after)
                    .ok_or_else(|| not_found(after))?
                    + 1
            }
            None => 0,
        };
        let rest = &all[start..];
        Ok(SessionPage {
            data: rest.iter().take(100).cloned().collect(),
            has_more: rest.len() > 100,
        })
    }
}

type TestReconciler = Reconciler<
    MemoryOrders,
    FakeStripe,
    NoStock,
    MemoryOrderEvents,
    MemoryReconcileProgress,
    ManualClock,
>;

fn reconciler(accounts: &[&str]) -> (TestReconciler, crate::metrics::Recorded) {
    let (metrics, recorded) = Metrics::recording("order-reconciler");
    let r = Reconciler {
        orders: MemoryOrders::default(),
        stripe: FakeStripe::default(),
        stock: NoStock,
        events: MemoryOrderEvents::default(),
        progress: MemoryReconcileProgress::with_accounts(accounts.iter().copied()),
        clock: ManualClock::at_seconds(NOW),
        metrics,
        settings: ReconcileSettings {
            concurrency: 1,
            ..Default::default()
        },
    };
    (r, recorded)
}

/// What the webhooks recorded before reconciliation ran: the same path, source webhook.
async fn recorded_by_webhook(r: &TestReconciler, account: &str, id: &str) {
    let ports = OrderPorts {
        orders: &r.orders,
        stripe: &r.stripe,
        stock: &r.stock,
        events: &r.events,
    };
    record_order(&ports, account, id, EventSource::Webhook)
        .await
        .unwrap();
}

#[tokio::test]
async fn missed_orders_are_recorded_once_over_pages_and_a_rescan_records_nothing() {
    let (r, recorded) = reconciler(&[A]);
    let ids = r.stripe.add(A, 250, NOW - 3600);
    for id in ids.iter().step_by(5) {
        recorded_by_webhook(&r, A, id).await;
    }
    let by_webhook = r.events.published();
    assert_eq!(by_webhook.len(), 50);

    let summary = r.run().await.unwrap();
    assert_eq!(summary.orders_reconciled, 200);
    assert_eq!((summary.complete, summary.sessions_seen), (1, 250));
    assert_eq!(recorded.sum("OrdersReconciled", &[]), 200.0);
    assert_eq!(r.orders.all().len(), 250, "one order per session");
    let lists = r.stripe.lists.lock().unwrap().clone();
    assert_eq!(lists.len(), 3, "three pages of 100");
    assert_eq!(
        lists[1].2.as_deref(),
        Some(ids[150].as_str()),
        "newest first"
    );
    let state = r.progress.state(A).unwrap();
    assert_eq!((state.watermark, state.scan), (Some(NOW), None));

    // Each order reconciled published order.created once, with the id the webhook path
    // would have given it.
    let events = r.events.published();
    let reconciled: Vec<_> = events[50..].iter().collect();
    assert_eq!(reconciled.len(), 200);
    assert!(
        reconciled
            .iter()
            .all(|e| e.source == EventSource::Reconciliation)
    );
    let unique: HashSet<_> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(unique.len(), 250);

    // Fifteen minutes later: the overlap re-lists the same day; nothing is retrieved again.
    r.clock.advance_millis(15 * 60 * 1000);
    let retrieves = r.stripe.retrieves.load(Ordering::SeqCst);
    let again = r.run().await.unwrap();
    assert_eq!((again.orders_reconciled, again.sessions_seen), (0, 250));
    assert_eq!(r.stripe.retrieves.load(Ordering::SeqCst), retrieves);
    assert_eq!(r.events.published().len(), 250);
    assert_eq!(r.orders.all().len(), 250);
    let last = r.stripe.lists.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        last.1,
        NOW - 24 * 3600,
        "the watermark less the 24 h overlap"
    );
    assert_eq!(r.progress.state(A).unwrap().watermark, Some(NOW + 900));
}

#[tokio::test]
async fn a_first_scan_looks_back_and_older_sessions_are_not_listed() {
    let (r, _) = reconciler(&[A]);
    r.stripe.add(A, 2, NOW - 10 * 24 * 3600);
    r.stripe.add(A, 3, NOW - 2 * 24 * 3600);
    let summary = r.run().await.unwrap();
    assert_eq!(summary.orders_reconciled, 3);
    assert_eq!(r.stripe.lists.lock().unwrap()[0].1, NOW - 3 * 24 * 3600);
}

#[tokio::test]
async fn a_failure_keeps_the_watermark_and_the_next_run_resumes_after_the_last_full_page() {
    let (r, recorded) = reconciler(&[A]);
    let ids = r.stripe.add(A, 150, NOW - 60);
    // Newest first: ids[149] is on page 1, ids[10] on page 2.
    r.stripe.failing.lock().unwrap().insert(ids[10].clone());
    let summary = r.run().await.unwrap();
    assert_eq!(summary.failed, 1);
    assert_eq!(recorded.sum("ReconcileFailed", &[]), 1.0);
    let state = r.progress.state(A).unwrap();
    assert_eq!(state.watermark, None, "the scan did not finish");
    let cursor = state.scan.clone().expect("progress of the first page kept");
    assert_eq!(cursor.starting_after.as_deref(), Some(ids[50].as_str()));
    assert_eq!(
        r.orders.all().len(),
        100 + 39,
        "page 1, and page 2 up to the failure"
    );

    r.stripe.failing.lock().unwrap().clear();
    r.clock.advance_millis(60_000);
    let resumed = r.run().await.unwrap();
    assert_eq!((resumed.complete, resumed.orders_reconciled), (1, 11));
    let last = r.stripe.lists.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        last.2.as_deref(),
        Some(ids[50].as_str()),
        "resumed from the cursor"
    );
    let state = r.progress.state(A).unwrap();
    assert_eq!(
        state.watermark,
        Some(NOW),
        "the scan's start, not the resume time"
    );
    assert_eq!(r.orders.all().len(), 150);
}

#[tokio::test]
async fn a_session_listed_under_another_account_is_refused_and_never_recorded() {
    let (r, recorded) = reconciler(&[A, B]);
    let b_ids = r.stripe.add(B, 1, NOW - 60);
    // A's list (wrongly) shows B's session: retrieved as A, Stripe does not find it.
    r.stripe.leaks.lock().unwrap().push((
        A.into(),
        ListedSession {
            id: b_ids[0].clone(),
            created: NOW - 60,
            status: Some("complete".into()),
            livemode: false,
        },
    ));
    let summary = r.run().await.unwrap();
    assert_eq!((summary.failed, summary.complete), (1, 1));
    assert_eq!(recorded.sum("ReconcileFailed", &[]), 1.0);
    let orders = r.orders.all();
    assert_eq!(orders.len(), 1);
    assert_eq!(
        orders[0].account_id, B,
        "B's order, recorded only from B's own list"
    );
    assert!(r.orders.get(A, &b_ids[0]).await.unwrap().is_none());
}

#[tokio::test]
async fn hostile_list_entries_are_refused() {
    let (r, _) = reconciler(&[A]);
    r.stripe.leaks.lock().unwrap().push((
        A.into(),
        ListedSession {
            id: "cs_../../evil".into(),
            created: NOW,
            status: Some("complete".into()),
            livemode: false,
        },
    ));
    let summary = r.run().await.unwrap();
    assert_eq!(summary.failed, 1);
    assert_eq!(r.stripe.retrieves.load(Ordering::SeqCst), 0);
    assert!(r.orders.all().is_empty());
}

#[tokio::test]
async fn a_publish_refused_by_bus_and_queue_fails_the_merchant_without_moving_it() {
    let (r, recorded) = reconciler(&[A]);
    r.stripe.add(A, 1, NOW - 60);
    r.events.set_failing(true);
    let summary = r.run().await.unwrap();
    assert_eq!(summary.failed, 1);
    assert_eq!(recorded.sum("ReconcileFailed", &[]), 1.0);
    assert_eq!(r.progress.state(A).unwrap().watermark, None);
}

#[tokio::test(start_paused = true)]
async fn the_budget_stops_new_work_and_merchants_not_reached_go_first_next_run() {
    let accounts = ["acct_1", "acct_2", "acct_3"];
    let (r, _) = reconciler(&accounts);
    for account in accounts {
        r.stripe.add(account, 1, NOW - 60);
    }
    // Each list call takes 10 s; each run has 30 s and keeps a 20 s reserve.
    *r.stripe.list_takes.lock().unwrap() = Duration::from_secs(10);
    let run = || async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let summary = budget::within(deadline, r.run()).await.unwrap();
        r.clock.advance_millis(15 * 60 * 1000);
        summary
    };
    let has_order = |account: &str| r.orders.all().iter().any(|o| o.account_id == account);

    let first = run().await;
    assert_eq!(
        (first.complete, first.incomplete, first.not_reached),
        (1, 1, 1)
    );
    assert!(has_order("acct_1") && !has_order("acct_2") && !has_order("acct_3"));
    assert_eq!(
        r.progress.state("acct_3").unwrap(),
        ReconcileState::default()
    );

    // acct_3, never reached, goes first.
    let second = run().await;
    assert_eq!((second.complete, second.not_reached), (2, 1));
    assert!(has_order("acct_3") && !has_order("acct_2"));

    let third = run().await;
    assert!(third.complete >= 1);
    assert!(has_order("acct_2"));
    assert_eq!(r.orders.all().len(), 3);
    assert!(
        accounts
            .iter()
            .all(|a| r.progress.state(a).unwrap().watermark.is_some())
    );
}
