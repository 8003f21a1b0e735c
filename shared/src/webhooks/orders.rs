//! Applying Stripe's snapshot events to orders. Every path is idempotent and convergent:
//! creation is a put-if-absent and state moves only forward (see `crate::orders::state`), so duplicated
//! and reordered deliveries end in the same record.

use serde::Serialize;
use serde_json::Value;

use crate::holds::fingerprint;
use crate::orders::{
    DisputeFact, EventSource, NoOrderEvents, Order, OrderEvent, OrderEventSink, PaymentFact,
    RefundFact,
};
use crate::store::{Applied, OrderStore, StockHolds, StoreError};
use crate::stripe::StripeError;
use crate::stripe::checkout::CheckoutSessionApi;
use crate::stripe::objects::{Charge, Dispute, PaymentIntent, SnapshotEvent};

pub const HANDLED_EVENT_TYPES: &[&str] = &[
    "checkout.session.completed",
    "checkout.session.expired",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
];

/// What an event did, stored as the idempotency record's response and logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum EventOutcome {
    OrderCreated {
        checkout_session_id: String,
    },
    OrderAlreadyExisted {
        checkout_session_id: String,
    },
    StateUpdated {
        checkout_session_id: String,
        state: &'static str,
    },
    StateAlreadyNewer {
        checkout_session_id: String,
        state: &'static str,
    },
    /// Nothing to do: e.g. a payment that did not come from a checkout session.
    Ignored {
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// Try again later (Stripe redelivers on a 5xx).
    #[error("transient: {0}")]
    Transient(String),
    /// The event cannot be applied as it is; redelivery will not help.
    #[error("invalid event: {0}")]
    Invalid(String),
}

impl From<StoreError> for ApplyError {
    // A store error never drops the event: even a "permanent" one (a missing table, say)
    // is fixed by an operator, after which Stripe's redelivery succeeds.
    fn from(e: StoreError) -> Self {
        ApplyError::Transient(e.to_string())
    }
}

impl From<crate::orders::PublishError> for ApplyError {
    // Both the bus and its dead-letter queue refused: the order is stored, its event is
    // not. A 5xx makes Stripe redeliver, and the redelivery publishes the same event id
    // again (see `publish_state`).
    fn from(e: crate::orders::PublishError) -> Self {
        ApplyError::Transient(format!("order event not published: {e}"))
    }
}

impl From<StripeError> for ApplyError {
    fn from(e: StripeError) -> Self {
        if e.is_transient() {
            ApplyError::Transient(e.to_string())
        } else {
            ApplyError::Invalid(e.to_string())
        }
    }
}

fn object_of<T: serde::de::DeserializeOwned>(event: &SnapshotEvent) -> Result<T, ApplyError> {
    serde_json::from_value(event.data.object.clone())
        .map_err(|e| ApplyError::Invalid(format!("{} data.object: {e}", event.kind)))
}

fn object_id(event: &SnapshotEvent) -> Result<String, ApplyError> {
    event
        .data
        .object
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ApplyError::Invalid(format!("{} has no data.object.id", event.kind)))
}

/// Applies one event for connected account `account` (the event's `account`).
pub async fn apply_event<O: OrderStore, A: CheckoutSessionApi>(
    orders: &O,
    stripe: &A,
    account: &str,
    event: &SnapshotEvent,
) -> Result<EventOutcome, ApplyError> {
    apply_event_with_stock(orders, stripe, &None::<NoStock>, account, event).await
}

/// Stand-in for deployments without stock holds.
pub struct NoStock;

impl StockHolds for NoStock {
    async fn place(&self, _: &crate::holds::Hold) -> Result<crate::store::Placement, StoreError> {
        Ok(crate::store::Placement::Placed)
    }

    async fn convert(&self, _: &str, _: &str, _: &str) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    async fn release_for_session(&self, _: &str, _: &str) -> Result<bool, StoreError> {
        Ok(false)
    }

    async fn expire_due(&self, _: i64, _: usize) -> Result<usize, StoreError> {
        Ok(0)
    }
}

/// Like [`apply_event`], and moves the stock held for the checkout: a completed order keeps
/// it sold; a session that expired or a payment that failed gives back the hold that names
/// that session (holds that name none run out on their own).
pub async fn apply_event_with_stock<O: OrderStore, A: CheckoutSessionApi, R: StockHolds>(
    orders: &O,
    stripe: &A,
    stock: &R,
    account: &str,
    event: &SnapshotEvent,
) -> Result<EventOutcome, ApplyError> {
    let ports = OrderPorts {
        orders,
        stripe,
        stock,
        events: &NoOrderEvents,
    };
    apply_event_published(&ports, account, event).await
}

/// What the order path writes to and reads from: the orders, Stripe's sessions, the stock
/// holds, and where order events go once a write succeeded.
pub struct OrderPorts<'a, O, A, R, E> {
    pub orders: &'a O,
    pub stripe: &'a A,
    pub stock: &'a R,
    pub events: &'a E,
}

/// Like [`apply_event_with_stock`], and publishes what changed (`crate::orders::events`)
/// after each successful write.
pub async fn apply_event_published<O, A, R, E>(
    ports: &OrderPorts<'_, O, A, R, E>,
    account: &str,
    event: &SnapshotEvent,
) -> Result<EventOutcome, ApplyError>
where
    O: OrderStore,
    A: CheckoutSessionApi,
    R: StockHolds,
    E: OrderEventSink,
{
    let OrderPorts {
        orders,
        stripe,
        stock,
        ..
    } = *ports;
    match event.kind.as_str() {
        "checkout.session.expired" => {
            let session_id = object_id(event)?;
            if stock.release_for_session(account, &session_id).await? {
                tracing::info!(account, checkout_session_id = %session_id, "held stock given back: session expired");
            }
        }
        "payment_intent.payment_failed" => {
            let intent: PaymentIntent = object_of(event)?;
            if let Some(session_id) = stripe.find_by_payment_intent(account, &intent.id).await? {
                if stock.release_for_session(account, &session_id).await? {
                    tracing::info!(account, checkout_session_id = %session_id, "held stock given back: payment failed");
                }
            }
        }
        _ => {}
    }
    match event.kind.as_str() {
        "checkout.session.completed" => {
            let session_id = object_id(event)?;
            record_order(ports, account, &session_id, EventSource::Webhook).await
        }
        "checkout.session.expired" => {
            let session_id = object_id(event)?;
            let fact = PaymentFact::new("expired", event.created, Some(&event.id));
            let applied = orders.apply_payment(account, &session_id, &fact).await?;
            Ok(state_outcome(
                applied,
                session_id,
                "payment",
                "an expired session has no order",
            ))
        }
        "payment_intent.succeeded" | "payment_intent.payment_failed" => {
            let intent: PaymentIntent = object_of(event)?;
            let fact =
                PaymentFact::from_intent_event(&intent, &event.kind, event.created, &event.id);
            let Some(session_id) = locate_order(ports, account, &intent.id).await? else {
                return Ok(EventOutcome::Ignored {
                    reason: format!(
                        "payment intent {} did not come from a checkout session",
                        intent.id
                    ),
                });
            };
            let applied = orders.apply_payment(account, &session_id, &fact).await?;
            publish_state(ports, account, &session_id, applied, |order| {
                (order.payment.event_id == fact.event_id)
                    .then(|| OrderEvent::payment(order, &fact))
                    .flatten()
            })
            .await?;
            Ok(state_outcome(
                applied,
                session_id,
                "payment",
                "order vanished",
            ))
        }
        "charge.refunded" => {
            let charge: Charge = object_of(event)?;
            let fact = RefundFact::from_charge_event(&charge, &event.id);
            let Some(intent) = charge.payment_intent.as_deref() else {
                return Ok(EventOutcome::Ignored {
                    reason: format!("charge {} has no payment intent", charge.id),
                });
            };
            let Some(session_id) = locate_order(ports, account, intent).await? else {
                return Ok(EventOutcome::Ignored {
                    reason: format!("charge {} did not come from a checkout session", charge.id),
                });
            };
            let applied = orders.apply_refund(account, &session_id, &fact).await?;
            publish_state(ports, account, &session_id, applied, |order| {
                (order.refund.event_id == fact.event_id)
                    .then(|| OrderEvent::refund(order, &fact))
                    .flatten()
            })
            .await?;
            Ok(state_outcome(
                applied,
                session_id,
                "refund",
                "order vanished",
            ))
        }
        kind if kind.starts_with("charge.dispute.") => {
            let dispute: Dispute = object_of(event)?;
            let fact = DisputeFact::from_event(&dispute, event.created, &event.id);
            let Some(intent) = dispute.payment_intent.as_deref() else {
                return Ok(EventOutcome::Ignored {
                    reason: format!("dispute {} has no payment intent", dispute.id),
                });
            };
            let Some(session_id) = locate_order(ports, account, intent).await? else {
                return Ok(EventOutcome::Ignored {
                    reason: format!(
                        "dispute {} is not on a checkout session's payment",
                        dispute.id
                    ),
                });
            };
            let applied = orders.apply_dispute(account, &session_id, &fact).await?;
            publish_state(ports, account, &session_id, applied, |order| {
                let stored = order.disputes.get(&fact.dispute_id)?;
                (stored.event_id == fact.event_id).then(|| OrderEvent::dispute(order, &fact))
            })
            .await?;
            Ok(state_outcome(
                applied,
                session_id,
                "dispute",
                "order vanished",
            ))
        }
        other => Ok(EventOutcome::Ignored {
            reason: format!("event type {other} is not handled"),
        }),
    }
}

fn state_outcome(
    applied: Applied,
    checkout_session_id: String,
    state: &'static str,
    missing: &str,
) -> EventOutcome {
    match applied {
        Applied::Updated => EventOutcome::StateUpdated {
            checkout_session_id,
            state,
        },
        Applied::Stale => EventOutcome::StateAlreadyNewer {
            checkout_session_id,
            state,
        },
        Applied::Missing => EventOutcome::Ignored {
            reason: format!("{missing} ({checkout_session_id})"),
        },
    }
}

/// Publishes the event of a state change once it is stored. `event_of` builds it from the
/// order as stored, and gives None unless the stored fact is this event's: so a change
/// stored now is published, a redelivery of an event whose change was stored before (its
/// first publish may have failed) publishes the same id again, and an event that lost to
/// a newer fact publishes nothing.
async fn publish_state<O, A, R, E>(
    ports: &OrderPorts<'_, O, A, R, E>,
    account: &str,
    session_id: &str,
    applied: Applied,
    event_of: impl Fn(&Order) -> Option<OrderEvent>,
) -> Result<(), ApplyError>
where
    O: OrderStore,
    E: OrderEventSink,
{
    if applied == Applied::Missing {
        return Ok(());
    }
    let Some(order) = ports.orders.get(account, session_id).await? else {
        return Ok(());
    };
    if let Some(event) = event_of(&order) {
        ports.events.publish(&[event]).await?;
    }
    Ok(())
}

/// Retrieves the session once, with every expansion, and stores the order if it is new.
/// When it already existed (created by a payment event that arrived first), the retrieved
/// state is merged through the same forward-only rules. Either way `order.created` is
/// published (one stable id per order), so a creation whose first publish failed is
/// published when the event comes again. The webhooks and the reconciliation both record
/// orders here, so an order is the same whichever path found it.
pub async fn record_order<O, A, R, E>(
    ports: &OrderPorts<'_, O, A, R, E>,
    account: &str,
    session_id: &str,
    source: EventSource,
) -> Result<EventOutcome, ApplyError>
where
    O: OrderStore,
    A: CheckoutSessionApi,
    R: StockHolds,
    E: OrderEventSink,
{
    let OrderPorts {
        orders,
        stripe,
        stock,
        events,
    } = *ports;
    let session = stripe.retrieve_for_order(account, session_id).await?;
    if session.id != session_id {
        return Err(ApplyError::Invalid(format!(
            "asked Stripe for checkout session {session_id} of {account} and got {}",
            session.id
        )));
    }
    let order =
        Order::from_session(account, &session).map_err(|e| ApplyError::Invalid(e.to_string()))?;
    keep_sold(stock, &order).await?;
    let created = orders.insert_if_absent(&order).await?;
    if created {
        tracing::info!(account, checkout_session_id = session_id, source = ?source, "order created");
    } else {
        orders
            .apply_payment(account, session_id, &order.payment)
            .await?;
        orders
            .apply_refund(account, session_id, &order.refund)
            .await?;
    }
    events
        .publish(&[OrderEvent::created(&order, source)])
        .await?;
    let checkout_session_id = session_id.to_string();
    Ok(if created {
        EventOutcome::OrderCreated {
            checkout_session_id,
        }
    } else {
        EventOutcome::OrderAlreadyExisted {
            checkout_session_id,
        }
    })
}

/// Finds the order a payment belongs to. Payment events can overtake
/// `checkout.session.completed`, so when our index has no order yet we ask Stripe which
/// session the payment came from and record that order first.
async fn locate_order<O, A, R, E>(
    ports: &OrderPorts<'_, O, A, R, E>,
    account: &str,
    payment_intent_id: &str,
) -> Result<Option<String>, ApplyError>
where
    O: OrderStore,
    A: CheckoutSessionApi,
    R: StockHolds,
    E: OrderEventSink,
{
    let OrderPorts {
        orders,
        stripe,
        stock,
        events,
    } = *ports;
    if let Some(session_id) = orders
        .find_by_payment_intent(account, payment_intent_id)
        .await?
    {
        return Ok(Some(session_id));
    }
    let Some(session_id) = stripe
        .find_by_payment_intent(account, payment_intent_id)
        .await?
    else {
        return Ok(None);
    };
    let session = stripe.retrieve_for_order(account, &session_id).await?;
    if session.status.as_deref() != Some("complete") {
        return Ok(None);
    }
    let order =
        Order::from_session(account, &session).map_err(|e| ApplyError::Invalid(e.to_string()))?;
    keep_sold(stock, &order).await?;
    if orders.insert_if_absent(&order).await? {
        tracing::info!(account, checkout_session_id = %session_id, "order created ahead of checkout.session.completed");
        events
            .publish(&[OrderEvent::created(&order, EventSource::Webhook)])
            .await?;
    }
    Ok(Some(session_id))
}

/// The completed checkout's held stock is sold: its hold (by fingerprint, or the one naming
/// its session) is converted, once however often the event comes. Done before the order is
/// stored, so a failure here is retried with the event and never leaves an order whose
/// stock could still expire back.
async fn keep_sold<R: StockHolds>(stock: &R, order: &Order) -> Result<(), ApplyError> {
    let (Some(currency), Some(total)) = (order.currency.as_deref(), order.amount_total) else {
        return Ok(());
    };
    let print = fingerprint(
        &order.account_id,
        currency,
        total,
        order
            .lines
            .iter()
            .filter_map(|l| l.sku.as_deref().map(|sku| (sku, l.quantity))),
    );
    match stock
        .convert(&order.account_id, &print, &order.checkout_session_id)
        .await?
    {
        Some(hold) => {
            tracing::info!(account = %order.account_id, checkout_session_id = %order.checkout_session_id, hold = %hold, "held stock sold")
        }
        None => {
            tracing::info!(account = %order.account_id, checkout_session_id = %order.checkout_session_id, "no open hold matches this order")
        }
    }
    Ok(())
}
