//! `expand[]`: validating expansion paths and rendering objects with them applied.
//!
//! Paths are checked against a small schema of which field of which object type can be
//! expanded (or, like `line_items` and `taxes`, only appears when asked for), so an
//! unsupported path fails loudly the way Stripe does instead of being silently ignored.

use crate::errors::ApiError;
use crate::model::{CheckoutSession, LineItem, to_json};
use crate::state::AccountData;
use serde_json::{Value, json};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    SessionList,
    PaymentIntentList,
    Session,
    LineItemList,
    LineItem,
    Taxes,
    Price,
    Product,
    PaymentIntent,
    Charge,
    Refund,
    Dispute,
}

impl Kind {
    fn child(self, field: &str) -> Option<Kind> {
        use Kind::*;
        match (self, field) {
            (SessionList, "data") => Some(Session),
            (PaymentIntentList, "data") => Some(PaymentIntent),
            (Session, "line_items") => Some(LineItemList),
            (Session, "payment_intent") => Some(PaymentIntent),
            (LineItemList, "data") => Some(LineItem),
            (LineItem, "price") => Some(Price),
            (LineItem, "taxes") => Some(Taxes),
            (Price, "product") => Some(Product),
            (PaymentIntent, "latest_charge") => Some(Charge),
            (Charge, "payment_intent") => Some(PaymentIntent),
            (Refund | Dispute, "charge") => Some(Charge),
            (Refund | Dispute, "payment_intent") => Some(PaymentIntent),
            _ => None,
        }
    }

    fn is_list(self) -> bool {
        matches!(
            self,
            Kind::SessionList | Kind::PaymentIntentList | Kind::LineItemList
        )
    }
}

/// The requested expansions as a tree of field names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expand(BTreeMap<String, Expand>);

impl Expand {
    pub fn get(&self, field: &str) -> Option<&Expand> {
        self.0.get(field)
    }

    /// Parses and validates `expand[]` values for an object of type `root`.
    pub fn parse(root: Kind, paths: &[String]) -> Result<Self, ApiError> {
        let mut tree = Expand::default();
        for (index, path) in paths.iter().enumerate() {
            if !path_is_valid(root, path) {
                let mut message = format!("This property cannot be expanded ({path}).");
                if root.is_list() && path_is_valid(root, &format!("data.{path}")) {
                    message.push_str(&format!(
                        " You may want to try expanding 'data.{path}' instead."
                    ));
                }
                return Err(ApiError::invalid_param(
                    &format!("expand[{index}]"),
                    message,
                ));
            }
            let mut node = &mut tree;
            for field in path.split('.') {
                node = node.0.entry(field.to_string()).or_default();
            }
        }
        Ok(tree)
    }

    /// Everything a checkout session supports, as the order pipeline fetches it.
    pub fn full_session() -> Self {
        let paths = [
            "line_items.data.price.product",
            "line_items.data.taxes",
            "payment_intent.latest_charge",
        ]
        .map(String::from);
        Self::parse(Kind::Session, &paths).unwrap_or_default()
    }
}

fn path_is_valid(root: Kind, path: &str) -> bool {
    let mut kind = root;
    for field in path.split('.') {
        match kind.child(field) {
            Some(next) => kind = next,
            None => return false,
        }
    }
    !path.is_empty()
}

pub fn session(acct: &AccountData, session: &CheckoutSession, ex: &Expand) -> Value {
    let mut value = to_json(session);
    if let Some(sub) = ex.get("line_items") {
        value["line_items"] = line_item_list(acct, session, sub);
    }
    if let (Some(sub), Some(id)) = (ex.get("payment_intent"), &session.payment_intent) {
        value["payment_intent"] = payment_intent(acct, id, sub);
    }
    value
}

/// How many items an expanded list carries: its first page at Stripe's default limit.
/// The rest are read from the list's own endpoint (docs/stripe.md §6.3).
pub const EXPANDED_LIST_PAGE: usize = 10;

pub fn line_item_list(acct: &AccountData, session: &CheckoutSession, ex: &Expand) -> Value {
    let empty = Expand::default();
    let item_ex = ex.get("data").unwrap_or(&empty);
    let data: Vec<Value> = session
        .line_items
        .iter()
        .take(EXPANDED_LIST_PAGE)
        .map(|li| line_item(acct, li, item_ex))
        .collect();
    list(
        data,
        session.line_items.len() > EXPANDED_LIST_PAGE,
        &format!("/v1/checkout/sessions/{}/line_items", session.id),
    )
}

pub fn list(data: Vec<Value>, has_more: bool, url: &str) -> Value {
    json!({ "object": "list", "data": data, "has_more": has_more, "url": url })
}

pub fn line_item(acct: &AccountData, item: &LineItem, ex: &Expand) -> Value {
    let mut value = to_json(item);
    let empty = Expand::default();
    value["price"] = price(acct, &item.price, ex.get("price").unwrap_or(&empty));
    if ex.get("taxes").is_some() {
        let taxes: Vec<Value> = item
            .taxes
            .iter()
            .map(|tax| {
                json!({
                    "amount": tax.amount,
                    "rate": acct.tax_rates.get(&tax.rate).map(to_json).unwrap_or_else(|| json!(tax.rate)),
                    "taxability_reason": "standard_rated",
                    "taxable_amount": tax.taxable_amount,
                })
            })
            .collect();
        value["taxes"] = json!(taxes);
    }
    value
}

fn price(acct: &AccountData, id: &str, ex: &Expand) -> Value {
    let Some(price) = acct.prices.get(id) else {
        return json!(id);
    };
    let mut value = to_json(price);
    if ex.get("product").is_some() {
        if let Some(product) = acct.products.get(&price.product) {
            value["product"] = to_json(product);
        }
    }
    value
}

pub fn payment_intent(acct: &AccountData, id: &str, ex: &Expand) -> Value {
    let Some(pi) = acct.payment_intents.get(id) else {
        return json!(id);
    };
    let mut value = to_json(pi);
    if let (Some(sub), Some(charge_id)) = (ex.get("latest_charge"), &pi.latest_charge) {
        value["latest_charge"] = charge(acct, charge_id, sub);
    }
    value
}

pub fn charge(acct: &AccountData, id: &str, ex: &Expand) -> Value {
    let Some(ch) = acct.charges.get(id) else {
        return json!(id);
    };
    let mut value = to_json(ch);
    if let (Some(sub), Some(pi)) = (ex.get("payment_intent"), &ch.payment_intent) {
        value["payment_intent"] = payment_intent(acct, pi, sub);
    }
    value
}

/// Refunds and disputes share the same two expandable references.
pub fn charge_and_intent(
    acct: &AccountData,
    mut value: Value,
    charge_id: &str,
    pi: Option<&str>,
    ex: &Expand,
) -> Value {
    if let Some(sub) = ex.get("charge") {
        value["charge"] = charge(acct, charge_id, sub);
    }
    if let (Some(sub), Some(pi)) = (ex.get("payment_intent"), pi) {
        value["payment_intent"] = payment_intent(acct, pi, sub);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn supported_session_paths_and_prefixes_parse() {
        for p in [
            "line_items",
            "line_items.data",
            "line_items.data.price",
            "line_items.data.price.product",
            "line_items.data.taxes",
            "payment_intent",
            "payment_intent.latest_charge",
        ] {
            assert!(Expand::parse(Kind::Session, &paths(&[p])).is_ok(), "{p}");
        }
    }

    #[test]
    fn unknown_path_names_its_index() {
        let err = Expand::parse(Kind::Session, &paths(&["payment_intent", "customer.foo"])).err();
        let err = err.map(|e| (e.message, e.param, e.status.as_u16()));
        assert_eq!(
            err,
            Some((
                "This property cannot be expanded (customer.foo).".into(),
                Some("expand[1]".into()),
                400
            ))
        );
        assert!(Expand::parse(Kind::Session, &paths(&[""])).is_err());
        assert!(Expand::parse(Kind::Session, &paths(&["line_items..data"])).is_err());
    }

    #[test]
    fn list_roots_suggest_the_data_prefix() {
        let err = Expand::parse(Kind::SessionList, &paths(&["line_items"])).err();
        assert!(err.is_some_and(|e| e.message.contains("'data.line_items'")));
        assert!(
            Expand::parse(
                Kind::SessionList,
                &paths(&["data.payment_intent.latest_charge"])
            )
            .is_ok()
        );
    }

    #[test]
    fn full_session_covers_every_branch() {
        let ex = Expand::full_session();
        assert!(
            ex.get("line_items")
                .and_then(|l| l.get("data"))
                .and_then(|d| d.get("taxes"))
                .is_some()
        );
        assert!(
            ex.get("payment_intent")
                .and_then(|p| p.get("latest_charge"))
                .is_some()
        );
    }
}
