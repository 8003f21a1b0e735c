//! The end of a purchase: a paid (or authorised) checkout with its payment intent and
//! charge, or a declined one stored expired; either way the objects and their events.

use super::draft::Draft;
use super::{Created, SESSION_LIFETIME};
use crate::errors::ApiError;
use crate::ids;
use crate::model::{
    AutomaticTax, Charge, CheckoutSession, CollectedInformation, CustomerDetails, LineItem,
    PaymentIntent, PaymentMethodDetails, ShippingCost, ShippingOption, TotalDetails, to_json,
};
use crate::state::events::RequestInfo;
use crate::state::{AccountData, Store};
use crate::timestamps::now;
use serde_json::json;

impl Draft {
    fn session(&self, seq: u64, amount_total: i64, paid: Option<bool>) -> CheckoutSession {
        let chosen = self
            .shipping_chosen
            .and_then(|i| self.shipping_offered.get(i));
        CheckoutSession {
            id: self.session_id.clone(),
            object: "checkout.session",
            amount_subtotal: self.lines.subtotal,
            amount_total,
            automatic_tax: AutomaticTax {
                enabled: self.automatic_tax,
                liability: None,
                status: self.automatic_tax.then_some("complete"),
            },
            client_reference_id: None,
            collected_information: self.shipping.clone().map(|s| CollectedInformation {
                shipping_details: Some(s),
            }),
            created: self.created,
            currency: self.currency.clone(),
            customer: None,
            customer_details: Some(CustomerDetails {
                address: self.billing.address.clone(),
                email: self.billing.email.clone(),
                name: self.billing.name.clone(),
                phone: self.billing.phone.clone(),
                tax_exempt: "none",
                tax_ids: Vec::new(),
            }),
            expires_at: self.created + SESSION_LIFETIME,
            livemode: false,
            metadata: self.metadata.clone(),
            mode: "payment",
            payment_intent: paid.map(|_| self.intent_id.clone()),
            payment_method_types: vec!["card"],
            payment_status: if paid == Some(true) { "paid" } else { "unpaid" },
            shipping_cost: chosen.map(|r| ShippingCost {
                amount_subtotal: r.fixed_amount.amount,
                amount_tax: 0,
                amount_total: r.fixed_amount.amount,
                shipping_rate: r.id.clone(),
            }),
            shipping_options: self
                .shipping_offered
                .iter()
                .map(|r| ShippingOption {
                    shipping_amount: r.fixed_amount.amount,
                    shipping_rate: r.id.clone(),
                })
                .collect(),
            status: if paid.is_some() {
                "complete"
            } else {
                "expired"
            },
            success_url: None,
            total_details: TotalDetails {
                amount_discount: 0,
                amount_shipping: self.shipping_amount,
                amount_tax: self.lines.tax,
            },
            url: None,
            line_items: Vec::new(),
            seq,
        }
    }

    fn store_catalog(self, acct: &mut AccountData) -> Vec<LineItem> {
        for rate in self.shipping_offered {
            acct.shipping_rates.insert(rate.id.clone(), rate);
        }
        self.lines.store(acct)
    }

    /// A completed, paid (or, with manual capture, authorised) agentic purchase.
    pub fn commit(self, store: &mut Store, api_version: &str) -> Result<Created, ApiError> {
        let amount_total = self.amount_total()?;
        let scope = self.scope.clone();
        self.check_ids(store.account(&scope))?;
        let seq = store.next_seq();
        let manual = self.capture_method == "manual";
        let payment_method = ids::payment_method();
        let mut session = self.session(seq, amount_total, Some(!manual));
        let intent = PaymentIntent {
            id: self.intent_id.clone(),
            object: "payment_intent",
            amount: amount_total,
            amount_capturable: if manual { amount_total } else { 0 },
            amount_received: if manual { 0 } else { amount_total },
            application_fee_amount: self.application_fee_amount,
            capture_method: self.capture_method.clone(),
            created: self.created,
            currency: self.currency.clone(),
            customer: None,
            description: None,
            last_payment_error: None,
            latest_charge: Some(self.charge_id.clone()),
            livemode: false,
            metadata: self.metadata.clone(),
            payment_method: Some(payment_method.clone()),
            payment_method_types: vec!["card"],
            status: if manual {
                "requires_capture".into()
            } else {
                "succeeded".into()
            },
            transfer_data: self
                .transfer_amount
                .map(|amount| json!({ "amount": amount, "destination": scope })),
            agent_details: self.agent_details.clone(),
            seq,
        };
        let charge = Charge {
            id: self.charge_id.clone(),
            object: "charge",
            amount: amount_total,
            amount_captured: if manual { 0 } else { amount_total },
            amount_refunded: 0,
            application_fee: self.application_fee_amount.map(|_| ids::application_fee()),
            application_fee_amount: self.application_fee_amount,
            balance_transaction: None,
            billing_details: self.billing.clone(),
            captured: !manual,
            created: self.created,
            currency: self.currency.clone(),
            description: None,
            disputed: false,
            livemode: false,
            metadata: self.metadata.clone(),
            paid: true,
            payment_intent: Some(self.intent_id.clone()),
            payment_method: Some(payment_method),
            payment_method_details: PaymentMethodDetails {
                kind: "card",
                card: self.card.clone(),
            },
            receipt_number: Some(
                self.receipt_number
                    .clone()
                    .unwrap_or_else(ids::receipt_number),
            ),
            refunded: false,
            status: "succeeded",
        };
        let session_id = self.session_id.clone();
        let (intent_id, charge_id) = (self.intent_id.clone(), self.charge_id.clone());
        let acct = store.account(&scope);
        session.line_items = self.store_catalog(acct);
        let session_json = to_json(&session);
        let intent_json = to_json(&intent);
        acct.sessions.insert(session_id.clone(), session);
        acct.payment_intents.insert(intent_id, intent);
        acct.charges.insert(charge_id, charge);

        let none = RequestInfo::default();
        let mut events = vec![store.emit(
            api_version,
            &scope,
            "checkout.session.completed",
            session_json,
            None,
            &none,
        )];
        if !manual {
            events.push(store.emit(
                api_version,
                &scope,
                "payment_intent.succeeded",
                intent_json,
                None,
                &none,
            ));
        }
        Ok(Created {
            scope,
            session_id,
            events,
        })
    }

    /// A checkout the platform declined: no payment; the session is stored expired and
    /// `checkout.session.expired` is emitted.
    pub fn abort(self, store: &mut Store, api_version: &str) -> Result<Created, ApiError> {
        let amount_total = self.amount_total()?;
        let scope = self.scope.clone();
        self.check_ids(store.account(&scope))?;
        let seq = store.next_seq();
        let mut session = self.session(seq, amount_total, None);
        session.expires_at = now().max(self.created);
        let session_id = self.session_id.clone();
        let acct = store.account(&scope);
        session.line_items = self.store_catalog(acct);
        let snapshot = to_json(&session);
        acct.sessions.insert(session_id.clone(), session);
        let event = store.emit(
            api_version,
            &scope,
            "checkout.session.expired",
            snapshot,
            None,
            &RequestInfo::default(),
        );
        Ok(Created {
            scope,
            session_id,
            events: vec![event],
        })
    }
}
