//! The checkout hooks Stripe calls during an agent's checkout (docs/stripe.md §3):
//! `customize_checkout` (shipping options, tax rates) and `finalize_checkout` (approve or
//! decline, application fee; 4-second deadline). Both are verified with the Agentic
//! Commerce Extension's secret, idempotent by request id, and scoped to the merchant the
//! request's `context` names.

pub mod customize;
pub mod finalize;
pub mod function;
pub mod keys;
pub mod request;

use std::time::Duration;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::time::{Instant, timeout_at};

use crate::clock::Clock;
use crate::endpoint::HttpAnswer;
use crate::merchants::{Fallback, Merchant, is_account_id};
use crate::metrics::Metrics;
use crate::store::{
    AgreementStore, Claim, IdempotencyStore, MerchantDirectory, SkuRecords, StockHolds, StoreError,
};
use keys::HookKeys;
use request::{CUSTOMIZE, CustomizeData, Envelope, FINALIZE, FinalizeData};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    Customize,
    Finalize,
}

impl Hook {
    pub fn event_type(self) -> &'static str {
        match self {
            Hook::Customize => CUSTOMIZE,
            Hook::Finalize => FINALIZE,
        }
    }

    /// The `Hook` dimension of its metrics.
    pub fn metric_name(self) -> &'static str {
        match self {
            Hook::Customize => "customize",
            Hook::Finalize => "finalize",
        }
    }

    /// The function that serves it (its metrics' `Function` dimension).
    pub fn function_name(self) -> &'static str {
        match self {
            Hook::Customize => "customize-checkout",
            Hook::Finalize => "finalize-checkout",
        }
    }
}

pub struct HookService<M, S, I, C, G> {
    pub hook: Hook,
    pub keys: HookKeys,
    pub livemode: bool,
    pub merchants: M,
    pub store: S,
    pub idempotency: I,
    pub clock: C,
    /// Agreements, for merchants that sell only through agents they have confirmed.
    pub agreements: G,
    /// Our own deadline, inside Stripe's 4 s, counted from the request's arrival: past it
    /// we answer with the merchant's fail-open or fail-closed choice instead of risking
    /// Stripe's timeout (a decline).
    pub deadline: Duration,
    /// How long an approval keeps its stock without an order (STOCK_HOLD_MINUTES).
    pub hold_for: Duration,
    /// Decisions, refusals, fallbacks and latency, for the operator's alarms.
    pub metrics: Metrics,
}

impl<M, S, I, C, G> HookService<M, S, I, C, G>
where
    M: MerchantDirectory,
    S: SkuRecords + StockHolds,
    I: IdempotencyStore,
    C: Clock,
    G: AgreementStore,
{
    /// Answers one request within [`HookService::deadline`] from now.
    pub async fn receive(&self, raw_body: &[u8], signature: Option<&str>) -> HttpAnswer {
        self.receive_by(raw_body, signature, Instant::now() + self.deadline)
            .await
    }

    /// Answers one request by `answer_by`. It is one budget: loading the signing secrets,
    /// reading the merchant, the work and releasing an unfinished claim all fit in it, so
    /// the merchant's fallback always leaves in time.
    pub async fn receive_by(
        &self,
        raw_body: &[u8],
        signature: Option<&str>,
        answer_by: Instant,
    ) -> HttpAnswer {
        let started = Instant::now();
        let answer = self.answer(raw_body, signature, answer_by).await;
        self.record(&answer, started.elapsed());
        answer
    }

    /// What the operator's alarms watch: every answer by outcome, and the time it took.
    fn record(&self, answer: &HttpAnswer, elapsed: Duration) {
        let hook = self.hook.metric_name();
        self.metrics
            .milliseconds("HookLatency", elapsed.as_millis() as u64, &[("Hook", hook)]);
        if answer.status >= 400 {
            let error = answer.body["error"]["type"].as_str().unwrap_or("unknown");
            self.metrics
                .count("HookRejected", &[("Hook", hook), ("Error", error)]);
            return;
        }
        let decision = match self.hook {
            Hook::Customize => "answered",
            Hook::Finalize => answer.body["manual_approval_details"]["type"]
                .as_str()
                .unwrap_or("unknown"),
        };
        self.metrics
            .count("HookDecision", &[("Hook", hook), ("Decision", decision)]);
    }

    async fn answer(
        &self,
        raw_body: &[u8],
        signature: Option<&str>,
        answer_by: Instant,
    ) -> HttpAnswer {
        // The work stops a little early, so an unfinished claim can still be released.
        let work_by = answer_by
            .checked_sub(self.deadline / 20)
            .unwrap_or(answer_by);
        let verified = match timeout_at(work_by, self.keys.verifier()).await {
            Ok(Ok(verifier)) => {
                if let Err(error) = verifier.verify(raw_body, signature, self.clock.now_seconds()) {
                    return HttpAnswer::error(
                        400,
                        "signature_verification_failed",
                        error.to_string(),
                    );
                }
                Ok(())
            }
            Ok(Err(error)) => Err(format!("the signing secrets are unavailable: {error}")),
            Err(_) => Err("the signing secrets did not load in time".to_string()),
        };
        let envelope: Envelope = match serde_json::from_slice(raw_body) {
            Ok(e) => e,
            Err(e) => {
                return HttpAnswer::error(
                    400,
                    "invalid_request",
                    format!("the body is not a hook request: {e}"),
                );
            }
        };
        if envelope.kind != self.hook.event_type() {
            return HttpAnswer::error(
                400,
                "invalid_request",
                format!(
                    "this endpoint takes {}, not {:?}",
                    self.hook.event_type(),
                    envelope.kind
                ),
            );
        }
        if envelope.livemode != self.livemode {
            return HttpAnswer::error(
                400,
                "livemode_mismatch",
                "the request's livemode does not match this deployment",
            );
        }
        let Some(account) = envelope.context.clone().filter(|a| is_account_id(a)) else {
            return HttpAnswer::error(
                400,
                "invalid_request",
                "the request has no connected account in `context`",
            );
        };
        // Parse the data now, so a malformed request is refused before anything is stored.
        let parsed = match self.hook {
            Hook::Customize => serde_json::from_value::<CustomizeData>(envelope.data.clone())
                .map(Parsed::Customize),
            Hook::Finalize => {
                serde_json::from_value::<FinalizeData>(envelope.data.clone()).map(Parsed::Finalize)
            }
        };
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                return HttpAnswer::error(
                    400,
                    "invalid_request",
                    format!("`data` is malformed: {e}"),
                );
            }
        };

        let merchant = match timeout_at(work_by, self.merchants.merchant(&account)).await {
            Ok(Ok(Some(m))) if m.enabled => m,
            Ok(Ok(_)) => {
                if let Err(why) = verified {
                    return secrets_unavailable(&why);
                }
                return HttpAnswer::error(
                    404,
                    "unknown_merchant",
                    format!("{account} is not a merchant of this platform"),
                );
            }
            Ok(Err(e)) => return self.unavailable(None, &parsed, Cause::Merchants, &e.to_string()),
            Err(_) => {
                return self.unavailable(
                    None,
                    &parsed,
                    Cause::Deadline,
                    "the merchant store did not answer in time",
                );
            }
        };
        if let Err(why) = verified {
            // Unchecked, the request may not change anything: no claim, no hold. A 5xx
            // would be a decline for every merchant (docs/stripe.md §3.4); the merchant's
            // own fallback is what it chose for exactly this case.
            return self.unavailable(Some(&merchant), &parsed, Cause::Secrets, &why);
        }

        let key = format!(
            "hook:{}:{}:{}",
            self.hook.event_type(),
            account,
            envelope.id
        );
        let hash = hex::encode(Sha256::digest(raw_body));
        let started = self.clock.now_millis();
        let work = async {
            match self
                .idempotency
                .claim(&key, Some(&hash), self.clock.now_millis())
                .await?
            {
                Claim::Acquired => {}
                Claim::Completed(previous) => return Ok(Err(previous)),
                Claim::PayloadMismatch => {
                    return Ok(Ok(HttpAnswer::error(
                        409,
                        "idempotency_error",
                        "this request id was already used with a different body",
                    )));
                }
                Claim::InProgress => {
                    return Ok(Ok(HttpAnswer::error(
                        409,
                        "in_progress",
                        "this request is being answered; retry shortly",
                    )));
                }
            }
            let answer = match &parsed {
                Parsed::Customize(data) => {
                    let ids: Vec<String> = data
                        .line_item_details
                        .iter()
                        .filter_map(|l| l.sku_id.clone())
                        .collect();
                    let skus = self.store.skus(&account, &ids).await?;
                    customize::customize(&merchant.checkout, data, &skus)
                }
                Parsed::Finalize(data) => {
                    finalize::finalize(
                        &self.store,
                        &self.agreements,
                        &account,
                        &envelope.id,
                        &merchant.checkout,
                        data,
                        finalize::HoldTerms {
                            now_millis: self.clock.now_millis(),
                            hold_for: self.hold_for,
                            retry_until: work_by,
                        },
                    )
                    .await?
                }
            };
            let text = answer.to_string();
            if let Err(e) = self
                .idempotency
                .complete(&key, &text, self.clock.now_millis())
                .await
            {
                tracing::warn!(error = %e, "could not store the hook answer; a retry recomputes it");
            }
            Ok::<_, StoreError>(Ok(HttpAnswer::ok(answer)))
        };
        let outcome = timeout_at(work_by, work).await;
        let elapsed = self.clock.now_millis() - started;
        match outcome {
            Ok(Ok(Ok(answer))) => {
                tracing::info!(hook = self.hook.event_type(), account = %account, request = %envelope.id, elapsed_ms = elapsed, status = answer.status, "hook answered");
                answer
            }
            Ok(Ok(Err(previous))) => {
                tracing::info!(hook = self.hook.event_type(), account = %account, request = %envelope.id, "replayed answer");
                HttpAnswer::ok(serde_json::from_str(&previous).unwrap_or(Value::Null))
            }
            Ok(Err(e)) => {
                // Let a retry compute a real answer, if the budget still allows.
                let _ = timeout_at(answer_by, self.idempotency.release(&key)).await;
                self.unavailable(Some(&merchant), &parsed, Cause::Store, &e.to_string())
            }
            Err(_) => {
                let _ = timeout_at(answer_by, self.idempotency.release(&key)).await;
                self.unavailable(
                    Some(&merchant),
                    &parsed,
                    Cause::Deadline,
                    "the store did not answer in time",
                )
            }
        }
    }

    /// The store could not answer: customize answers with nothing to add; finalize applies
    /// the merchant's fail-open or fail-closed choice (fail-closed when even the merchant
    /// could not be read).
    ///
    /// Every fallback is counted (`HookFallback`, by cause and decision): a fail-open
    /// approval is stock sold without a reservation, which the operator must see.
    fn unavailable(
        &self,
        merchant: Option<&Merchant>,
        parsed: &Parsed,
        cause: Cause,
        why: &str,
    ) -> HttpAnswer {
        tracing::error!(
            hook = self.hook.event_type(),
            cause = cause.as_str(),
            error = why,
            "store unavailable; answering the fallback"
        );
        let (decision, answer) = match parsed {
            Parsed::Customize(_) => ("nothing_added", json!({})),
            Parsed::Finalize(data) => match merchant.map(|m| m.checkout.when_unavailable) {
                Some(Fallback::Approve) => (
                    "approved_unreserved",
                    finalize::approved(
                        &merchant.map(|m| m.checkout.clone()).unwrap_or_default(),
                        data,
                    ),
                ),
                _ => (
                    "declined",
                    finalize::declined(
                        "The store could not confirm this order in time. Please try again.",
                    ),
                ),
            },
        };
        self.metrics.count(
            "HookFallback",
            &[
                ("Hook", self.hook.metric_name()),
                ("Cause", cause.as_str()),
                ("Decision", decision),
            ],
        );
        HttpAnswer::ok(answer)
    }
}

enum Parsed {
    Customize(CustomizeData),
    Finalize(FinalizeData),
}

/// Why a hook answered its fallback.
#[derive(Debug, Clone, Copy)]
enum Cause {
    /// The signing secrets could not be loaded.
    Secrets,
    /// The merchant could not be read.
    Merchants,
    /// A store call failed (after the retries it allows).
    Store,
    /// The request's deadline came first.
    Deadline,
}

impl Cause {
    fn as_str(self) -> &'static str {
        match self {
            Cause::Secrets => "secrets",
            Cause::Merchants => "merchants",
            Cause::Store => "store",
            Cause::Deadline => "deadline",
        }
    }
}

/// The signing secrets could not be loaded and the request names no merchant of ours:
/// nothing to fall back on, and nothing to say about the merchant to an unchecked caller.
fn secrets_unavailable(why: &str) -> HttpAnswer {
    tracing::error!(error = why, "hook secrets unavailable; answering 503");
    HttpAnswer::error(
        503,
        "secrets_unavailable",
        "the hook's signing secrets could not be loaded; see the function's logs",
    )
}

#[cfg(test)]
mod tests;
