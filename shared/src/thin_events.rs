//! Receiving Stripe's thin (v2) events on their own route and secret: verify, deduplicate
//! by event id, then act. Agreement events re-fetch the agreement (with `Stripe-Context`
//! set to the event's context) and store it forward-only. Answers fit Stripe's retries as
//! on the webhook route (`crate::webhooks`): genuine events that cannot be processed are
//! kept as dead letters and answered 2xx.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::agreements::Agreement;
use crate::clock::Clock;
use crate::endpoint::HttpAnswer;
use crate::merchants::is_account_id;
use crate::signature::Verifier;
use crate::store::{AgreementStore, Applied, Claim, DeadLetterStore, IdempotencyStore};
use crate::stripe::agreements::AgreementsApi;
use crate::uploader::ImportEvents;

#[derive(Debug, Clone, Deserialize)]
pub struct RelatedObject {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

/// `{id, object: "v2.core.event", type, created, livemode, context?, related_object?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ThinEvent {
    pub id: String,
    pub object: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub livemode: bool,
    #[serde(default)]
    pub context: Option<String>,
    #[serde(default)]
    pub related_object: Option<RelatedObject>,
}

pub struct ThinEvents<S, I, A, C, P, D> {
    pub verifier: Verifier,
    pub livemode: bool,
    pub agreements: S,
    pub idempotency: I,
    pub stripe: A,
    pub clock: C,
    /// Catalog imports, when this deployment runs the uploader's stores here too.
    pub imports: P,
    /// Genuine events that cannot be processed are kept here for an operator.
    pub dead_letters: D,
}

impl<S, I, A, C, P, D> ThinEvents<S, I, A, C, P, D>
where
    D: DeadLetterStore,
    S: AgreementStore,
    I: IdempotencyStore,
    A: AgreementsApi,
    C: Clock,
    P: ImportEvents,
{
    pub async fn receive(&self, raw_body: &[u8], signature: Option<&str>) -> HttpAnswer {
        if let Err(error) = self
            .verifier
            .verify(raw_body, signature, self.clock.now_seconds())
        {
            return HttpAnswer::error(400, "signature_verification_failed", error.to_string());
        }
        let event: ThinEvent = match serde_json::from_slice(raw_body) {
            Ok(e) => e,
            Err(e) => {
                return self
                    .keep_for_operator(raw_body, &format!("not a thin event: {e}"))
                    .await;
            }
        };
        if event.object != "v2.core.event" {
            return self
                .keep_for_operator(
                    raw_body,
                    "a snapshot event signed for the thin-event destination: point that endpoint at /stripe/webhooks",
                )
                .await;
        }
        if event.livemode != self.livemode {
            let reason = format!(
                "a {} event, but this deployment serves the other mode",
                if event.livemode { "live" } else { "test" }
            );
            return self.keep_for_operator(raw_body, &reason).await;
        }
        if event
            .kind
            .starts_with("v2.commerce.product_catalog.imports.")
        {
            return self.import_event(&event, raw_body).await;
        }
        if !event
            .kind
            .starts_with("v2.orchestrated_commerce.agreement.")
        {
            tracing::info!(event_id = %event.id, event_type = %event.kind, "thin event not handled here; acknowledged");
            return HttpAnswer::ok(json!({"received": true, "handled": false}));
        }
        let (Some(account), Some(related)) = (
            event.context.clone().filter(|c| is_account_id(c)),
            event.related_object.clone(),
        ) else {
            return self
                .keep_for_operator(
                    raw_body,
                    "an agreement event needs a connected-account context and a related object",
                )
                .await;
        };
        let key = format!("thin:{}", event.id);
        match self
            .idempotency
            .claim(&key, None, self.clock.now_millis())
            .await
        {
            Ok(Claim::Acquired) => {}
            Ok(Claim::Completed(previous)) => {
                return HttpAnswer::ok(
                    json!({"received": true, "duplicate": true, "outcome": serde_json::from_str::<Value>(&previous).unwrap_or(Value::Null)}),
                );
            }
            Ok(_) => {
                return HttpAnswer::error(
                    503,
                    "in_progress",
                    "this event is being processed; retry later",
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "idempotency store unavailable");
                return HttpAnswer::error(
                    503,
                    "store_unavailable",
                    "the event store is unavailable; retry later",
                );
            }
        }
        let outcome = self.apply_agreement(&account, &related.id).await;
        match outcome {
            Ok(outcome) => {
                let _ = self
                    .idempotency
                    .complete(&key, &outcome.to_string(), self.clock.now_millis())
                    .await;
                tracing::info!(event_id = %event.id, event_type = %event.kind, account = %account, outcome = %outcome, "thin event applied");
                HttpAnswer::ok(json!({"received": true, "handled": true, "outcome": outcome}))
            }
            Err((status, message)) if status < 500 => {
                // A retry cannot fix it (Stripe refuses the agreement, or it is unreadable):
                // kept for an operator, and the claim completed so redeliveries stop here.
                let answer = self.keep_for_operator(raw_body, &message).await;
                if answer.status == 200 {
                    let kept = json!({"dead_letter": true, "reason": message});
                    let _ = self
                        .idempotency
                        .complete(&key, &kept.to_string(), self.clock.now_millis())
                        .await;
                } else {
                    let _ = self.idempotency.release(&key).await;
                }
                answer
            }
            Err((_, message)) => {
                let _ = self.idempotency.release(&key).await;
                tracing::error!(event_id = %event.id, error = %message, "thin event failed; Stripe will redeliver");
                HttpAnswer::error(500, "api_error", message)
            }
        }
    }

    async fn keep_for_operator(&self, raw_body: &[u8], reason: &str) -> HttpAnswer {
        crate::webhooks::keep_for_operator(
            &self.dead_letters,
            "events",
            raw_body,
            reason,
            self.clock.now_millis(),
        )
        .await
    }

    /// Import events need no deduplication: moving a feed forward is idempotent.
    async fn import_event(&self, event: &ThinEvent, raw_body: &[u8]) -> HttpAnswer {
        if event.kind == "v2.commerce.product_catalog.imports.processing" {
            // Nothing to finish yet: a poll now would only hear `processing` again, and
            // at scale the polls are what Stripe's per-endpoint limit binds.
            tracing::info!(event_id = %event.id, event_type = %event.kind, "import processing; nothing to do until it ends");
            return HttpAnswer::ok(json!({"received": true, "handled": false}));
        }
        let (Some(account), Some(related)) = (
            event.context.clone().filter(|c| is_account_id(c)),
            event.related_object.clone(),
        ) else {
            return self
                .keep_for_operator(
                    raw_body,
                    "an import event needs a connected-account context and a related object",
                )
                .await;
        };
        match self.imports.import_changed(&account, &related.id).await {
            Ok(status) => {
                tracing::info!(event_id = %event.id, event_type = %event.kind, account = %account, import = %related.id, status = ?status, "import event applied");
                HttpAnswer::ok(
                    json!({"received": true, "handled": status.is_some(), "import_status": status}),
                )
            }
            Err(message) => {
                tracing::error!(event_id = %event.id, error = %message, "import event failed; Stripe will redeliver");
                HttpAnswer::error(
                    500,
                    "api_error",
                    "the import could not be updated now; it will be retried",
                )
            }
        }
    }

    async fn apply_agreement(
        &self,
        account: &str,
        agreement_id: &str,
    ) -> Result<Value, (u16, String)> {
        let object = self
            .stripe
            .retrieve_agreement(account, agreement_id)
            .await
            .map_err(|e| {
                if e.is_transient() {
                    (500, e.to_string())
                } else {
                    (400, e.to_string())
                }
            })?;
        let agreement = Agreement::from_stripe(account, &object)
            .map_err(|e| (400, format!("Stripe's agreement {agreement_id}: {e}")))?;
        let applied = self
            .agreements
            .put_if_newer(&agreement)
            .await
            .map_err(|e| (500, e.to_string()))?;
        Ok(
            json!({"agreement": agreement.agreement_id, "status": agreement.status, "stored": applied == Applied::Updated}),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::Mutex;

    use super::*;
    use crate::agreements::AgreementStatus;
    use crate::clock::SystemClock;
    use crate::secret::Secret;
    use crate::signature::sign_header;
    use crate::store::memory::{MemoryAgreements, MemoryDeadLetters, MemoryIdempotency};
    use crate::stripe::StripeError;

    const SECRET: &str = "whsec_unit_thin";
    const ACCOUNT: &str = "acct_1Unit";

    /// Answers each retrieval with the next scripted state: what Stripe showed at the time
    /// of that fetch (which, with reordered events, may be older than the event).
    #[derive(Default)]
    struct ScriptedAgreements {
        answers: Mutex<VecDeque<Value>>,
        calls: Mutex<usize>,
    }

    impl ScriptedAgreements {
        fn then(self, status: &str, transitions: Value) -> Self {
            self.answers.lock().unwrap().push_back(json!({"id": "orca_1", "object": "v2.orchestrated_commerce.agreement",
                "status": status, "status_transitions": transitions,
                "orchestrator_details": {"name": "ChatGPT", "network_business_profile": "nbp_openai"}}));
            self
        }
    }

    impl AgreementsApi for ScriptedAgreements {
        async fn retrieve_agreement(&self, context: &str, id: &str) -> Result<Value, StripeError> {
            assert_eq!(
                (context, id),
                (ACCOUNT, "orca_1"),
                "read in the event's context"
            );
            *self.calls.lock().unwrap() += 1;
            Ok(self
                .answers
                .lock()
                .unwrap()
                .pop_front()
                .expect("a scripted answer"))
        }
    }

    type Receiver = ThinEvents<
        MemoryAgreements,
        MemoryIdempotency,
        ScriptedAgreements,
        SystemClock,
        Option<NoImports>,
        MemoryDeadLetters,
    >;

    fn receiver(stripe: ScriptedAgreements) -> Receiver {
        ThinEvents {
            verifier: Verifier::new(vec![Secret::new(SECRET)], 300),
            livemode: false,
            agreements: MemoryAgreements::default(),
            idempotency: MemoryIdempotency::new(3600, 60),
            stripe,
            clock: SystemClock,
            imports: None,
            dead_letters: MemoryDeadLetters::default(),
        }
    }

    struct NoImports;

    impl ImportEvents for NoImports {
        async fn import_changed(&self, _: &str, _: &str) -> Result<Option<String>, String> {
            Ok(None)
        }
    }

    fn event(id: &str, kind: &str) -> (Vec<u8>, String) {
        let body = json!({"id": id, "object": "v2.core.event", "type": format!("v2.orchestrated_commerce.agreement.{kind}"),
            "created": "2026-11-28T10:00:00.000Z", "livemode": false, "context": ACCOUNT,
            "related_object": {"id": "orca_1", "type": "v2.orchestrated_commerce.agreement", "url": "/v2/orchestrated_commerce/agreements/orca_1"}})
        .to_string()
        .into_bytes();
        let header = sign_header(&body, &[SECRET], SystemClock.now_seconds());
        (body, header)
    }

    async fn stored(events: &Receiver) -> AgreementStatus {
        events
            .agreements
            .agreement(ACCOUNT, "orca_1")
            .await
            .unwrap()
            .unwrap()
            .status
    }

    #[tokio::test]
    async fn reordered_events_and_stale_reads_converge_on_the_furthest_state() {
        // Events arrive newest first, and each fetch returns an older state than the last.
        let stripe = ScriptedAgreements::default()
            .then("confirmed", json!({"orchestrator_confirmed_at": "a", "seller_confirmed_at": "b"}))
            .then("partially_confirmed", json!({"orchestrator_confirmed_at": "a"}))
            .then("initiated", json!({}))
            .then("terminated", json!({"orchestrator_confirmed_at": "a", "seller_confirmed_at": "b", "terminated_at": "c"}))
            .then("confirmed", json!({"orchestrator_confirmed_at": "a", "seller_confirmed_at": "b"}));
        let events = receiver(stripe);
        for (id, kind) in [
            ("evt_3", "confirmed"),
            ("evt_2", "partially_confirmed"),
            ("evt_1", "created"),
        ] {
            let (body, header) = event(id, kind);
            assert_eq!(events.receive(&body, Some(&header)).await.status, 200);
        }
        assert_eq!(stored(&events).await, AgreementStatus::Confirmed);
        let (body, header) = event("evt_4", "terminated");
        events.receive(&body, Some(&header)).await;
        assert_eq!(stored(&events).await, AgreementStatus::Terminated);
        // A stale read after termination never brings the agreement back.
        let (body, header) = event("evt_5", "confirmed");
        let answer = events.receive(&body, Some(&header)).await;
        assert_eq!(answer.body["outcome"]["stored"], false, "{:?}", answer);
        assert_eq!(stored(&events).await, AgreementStatus::Terminated);
    }

    /// Records the imports it is told about.
    #[derive(Default)]
    struct RecordedImports(Mutex<Vec<String>>);

    impl ImportEvents for RecordedImports {
        async fn import_changed(&self, _: &str, id: &str) -> Result<Option<String>, String> {
            self.0.lock().unwrap().push(id.to_string());
            Ok(Some("succeeded".into()))
        }
    }

    #[tokio::test]
    async fn only_an_import_events_end_moves_the_uploader() {
        let events = ThinEvents {
            verifier: Verifier::new(vec![Secret::new(SECRET)], 300),
            livemode: false,
            agreements: MemoryAgreements::default(),
            idempotency: MemoryIdempotency::new(3600, 60),
            stripe: ScriptedAgreements::default(),
            clock: SystemClock,
            imports: RecordedImports::default(),
            dead_letters: MemoryDeadLetters::default(),
        };
        for (id, status) in [("evt_1", "processing"), ("evt_2", "succeeded")] {
            let body = json!({"id": id, "object": "v2.core.event",
                "type": format!("v2.commerce.product_catalog.imports.{status}"),
                "created": "2026-11-28T10:00:00.000Z", "livemode": false, "context": ACCOUNT,
                "related_object": {"id": "pcimprt_1", "type": "v2.commerce.product_catalog_import",
                    "url": "/v2/commerce/product_catalog/imports/pcimprt_1"}})
            .to_string()
            .into_bytes();
            let header = sign_header(&body, &[SECRET], SystemClock.now_seconds());
            let answer = events.receive(&body, Some(&header)).await;
            assert_eq!(answer.status, 200, "{answer:?}");
            assert_eq!(answer.body["handled"], status == "succeeded", "{answer:?}");
        }
        // `processing` has nothing to finish: only the end is worth a call to Stripe.
        assert_eq!(*events.imports.0.lock().unwrap(), ["pcimprt_1"]);
    }

    #[tokio::test]
    async fn a_redelivered_event_is_acknowledged_without_fetching_again() {
        let stripe = ScriptedAgreements::default().then("initiated", json!({}));
        let events = receiver(stripe);
        let (body, header) = event("evt_1", "created");
        assert_eq!(events.receive(&body, Some(&header)).await.status, 200);
        let again = events.receive(&body, Some(&header)).await;
        assert_eq!(again.body["duplicate"], true);
        assert_eq!(*events.stripe.calls.lock().unwrap(), 1);
    }

    #[tokio::test]
    async fn events_from_elsewhere_are_refused_or_set_aside() {
        let events = receiver(ScriptedAgreements::default());
        let (body, _) = event("evt_1", "created");
        let forged = sign_header(&body, &["whsec_attacker"], SystemClock.now_seconds());
        assert_eq!(events.receive(&body, Some(&forged)).await.status, 400);
        let other = json!({"id": "evt_x", "object": "v2.core.event", "type": "v2.core.account.updated", "livemode": false});
        let bytes = other.to_string().into_bytes();
        let header = sign_header(&bytes, &[SECRET], SystemClock.now_seconds());
        let answer = events.receive(&bytes, Some(&header)).await;
        assert_eq!(
            (answer.status, &answer.body["handled"]),
            (200, &json!(false))
        );
        assert_eq!(*events.stripe.calls.lock().unwrap(), 0, "nothing fetched");
    }

    #[tokio::test]
    async fn genuine_events_that_cannot_be_processed_are_kept_and_answered_2xx() {
        let events = receiver(ScriptedAgreements::default().then("paused", json!({})));
        let signed = |body: serde_json::Value| {
            let bytes = body.to_string().into_bytes();
            let header = sign_header(&bytes, &[SECRET], SystemClock.now_seconds());
            (bytes, header)
        };
        // The other mode, an event missing its context, and an agreement Stripe shows in a
        // status this code does not know: none a retry could fix.
        let live = signed(
            json!({"id": "evt_live", "object": "v2.core.event", "type": "v2.orchestrated_commerce.agreement.created", "livemode": true, "context": ACCOUNT}),
        );
        let no_context = signed(
            json!({"id": "evt_bare", "object": "v2.core.event", "type": "v2.orchestrated_commerce.agreement.created", "livemode": false}),
        );
        let (unknown, unknown_header) = event("evt_paused", "created");
        for (body, header) in [live, no_context, (unknown.clone(), unknown_header.clone())] {
            let answer = events.receive(&body, Some(&header)).await;
            assert_eq!(
                (answer.status, &answer.body["dead_letter"]),
                (200, &json!(true)),
                "{:?}",
                answer
            );
        }
        let kept = events.dead_letters.dead_letters(None, 10).await.unwrap();
        let mut ids: Vec<&str> = kept.iter().map(|l| l.event_id.as_str()).collect();
        ids.sort();
        assert_eq!(ids, ["evt_bare", "evt_live", "evt_paused"]);
        let paused = kept.iter().find(|l| l.event_id == "evt_paused").unwrap();
        assert_eq!(paused.account_id, ACCOUNT);
        assert!(paused.reason.contains("paused"), "{}", paused.reason);
        assert_eq!(paused.payload.as_bytes(), unknown);
        // Redelivered, it is a duplicate: nothing fetched again, nothing kept twice.
        let again = events.receive(&unknown, Some(&unknown_header)).await;
        assert_eq!(again.status, 200);
        assert_eq!(*events.stripe.calls.lock().unwrap(), 1);
        assert_eq!(
            events
                .dead_letters
                .dead_letters(None, 10)
                .await
                .unwrap()
                .len(),
            3
        );
    }

    #[tokio::test]
    async fn without_a_place_to_keep_it_the_event_is_answered_5xx_so_stripe_keeps_it() {
        let base = receiver(ScriptedAgreements::default());
        let events = ThinEvents {
            verifier: base.verifier,
            livemode: base.livemode,
            agreements: base.agreements,
            idempotency: base.idempotency,
            stripe: base.stripe,
            clock: base.clock,
            imports: base.imports,
            dead_letters: None::<MemoryDeadLetters>,
        };
        let body = json!({"id": "evt_live", "object": "v2.core.event", "type": "v2.orchestrated_commerce.agreement.created", "livemode": true, "context": ACCOUNT}).to_string().into_bytes();
        let header = sign_header(&body, &[SECRET], SystemClock.now_seconds());
        assert_eq!(events.receive(&body, Some(&header)).await.status, 503);
    }
}
