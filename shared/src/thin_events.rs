//! Receiving Stripe's thin (v2) events on their own route and secret: verify, refuse the
//! wrong mode, deduplicate by event id, then act. Agreement events re-fetch the agreement
//! (with `Stripe-Context` set to the event's context) and store it forward-only.

use std::future::Future;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::agreements::Agreement;
use crate::clock::Clock;
use crate::endpoint::HttpAnswer;
use crate::merchants::is_account_id;
use crate::signature::Verifier;
use crate::store::{AgreementStore, Applied, Claim, IdempotencyStore};
use crate::stripe::{RequestOptions, StripeClient, StripeError};

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

const AGREEMENTS_PATH: &str = "/v2/orchestrated_commerce/agreements/";

pub trait AgreementsApi: Send + Sync {
    /// The agreement as Stripe shows it now, read in `context`.
    fn retrieve_agreement(
        &self,
        context: &str,
        agreement_id: &str,
    ) -> impl Future<Output = Result<Value, StripeError>> + Send;
}

#[derive(Debug, Clone)]
pub struct StripeAgreements {
    client: StripeClient,
    version: String,
}

impl StripeAgreements {
    pub fn new(client: StripeClient, version: impl Into<String>) -> Self {
        Self {
            client,
            version: version.into(),
        }
    }
}

impl AgreementsApi for StripeAgreements {
    async fn retrieve_agreement(
        &self,
        context: &str,
        agreement_id: &str,
    ) -> Result<Value, StripeError> {
        let options = RequestOptions {
            context: Some(context.to_string()),
            version: Some(self.version.clone()),
            ..RequestOptions::default()
        };
        let id = crate::encoding::path_segment(agreement_id);
        self.client
            .get(&format!("{AGREEMENTS_PATH}{id}"), &[], &options)
            .await
    }
}

/// What a v2 catalog import event does: finish the import now (the uploader).
pub trait ImportEvents: Send + Sync {
    /// The import's status afterwards, or None when it is not one of ours.
    fn import_changed(
        &self,
        account: &str,
        import_id: &str,
    ) -> impl Future<Output = Result<Option<String>, String>> + Send;
}

impl<T: ImportEvents> ImportEvents for Option<T> {
    async fn import_changed(
        &self,
        account: &str,
        import_id: &str,
    ) -> Result<Option<String>, String> {
        match self {
            Some(inner) => inner.import_changed(account, import_id).await,
            None => Ok(None),
        }
    }
}

impl<M, Cat, I, O, A, K> ImportEvents for crate::uploader::Uploader<M, Cat, I, O, A, K>
where
    M: crate::store::MerchantDirectory,
    Cat: crate::store::FeedSlots + crate::store::ImportLog + crate::store::SkuRecords,
    I: IdempotencyStore,
    O: crate::bucket::ObjectStore,
    A: crate::stripe::catalog::CatalogApi,
    K: Clock,
{
    fn import_changed(
        &self,
        account: &str,
        import_id: &str,
    ) -> impl Future<Output = Result<Option<String>, String>> + Send {
        let (account, import_id) = (account.to_string(), import_id.to_string());
        async move {
            // Boxed: the uploader's future is Send, but proving it through every generic
            // layer of the thin-event receiver is more than the compiler does on its own.
            type Work<'a> = std::pin::Pin<
                Box<
                    dyn Future<
                            Output = Result<
                                Option<crate::imports::ImportStatus>,
                                crate::uploader::UploadError,
                            >,
                        > + Send
                        + 'a,
                >,
            >;
            let work: Work<'_> = Box::pin(self.on_import_event(&account, &import_id));
            let status = work.await.map_err(|e| e.to_string())?;
            Ok(status
                .and_then(|s| serde_json::to_value(s).ok())
                .and_then(|v| v.as_str().map(str::to_string)))
        }
    }
}

pub struct ThinEvents<S, I, A, C, P> {
    pub verifier: Verifier,
    pub livemode: bool,
    pub agreements: S,
    pub idempotency: I,
    pub stripe: A,
    pub clock: C,
    /// Catalog imports, when this deployment runs the uploader's stores here too.
    pub imports: P,
}

impl<S, I, A, C, P> ThinEvents<S, I, A, C, P>
where
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
                return HttpAnswer::error(400, "invalid_event", format!("not a thin event: {e}"));
            }
        };
        if event.object != "v2.core.event" {
            return HttpAnswer::error(
                400,
                "invalid_event",
                "this is a snapshot event: send it to /stripe/webhooks",
            );
        }
        if event.livemode != self.livemode {
            return HttpAnswer::error(
                400,
                "livemode_mismatch",
                format!("event {} is from the other mode", event.id),
            );
        }
        if event
            .kind
            .starts_with("v2.commerce.product_catalog.imports.")
        {
            return self.import_event(&event).await;
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
            return HttpAnswer::error(
                400,
                "invalid_event",
                "an agreement event needs a connected-account context and a related object",
            );
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
                    409,
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
            Err((status, message)) => {
                let _ = self.idempotency.release(&key).await;
                tracing::error!(event_id = %event.id, error = %message, "thin event failed");
                HttpAnswer::error(
                    status,
                    if status >= 500 {
                        "api_error"
                    } else {
                        "invalid_event"
                    },
                    message,
                )
            }
        }
    }

    /// Import events need no deduplication: moving a feed forward is idempotent.
    async fn import_event(&self, event: &ThinEvent) -> HttpAnswer {
        let (Some(account), Some(related)) = (
            event.context.clone().filter(|c| is_account_id(c)),
            event.related_object.clone(),
        ) else {
            return HttpAnswer::error(
                400,
                "invalid_event",
                "an import event needs a connected-account context and a related object",
            );
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
