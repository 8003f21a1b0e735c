//! Stock holds: the stock an approved checkout keeps until it is paid for or given up.
//!
//! Stripe's documented `finalize_checkout` payload names no checkout session
//! (docs/stripe.md §3.4), so a hold is keyed by the hook request and carries a fingerprint
//! of what both the request and the later order show: the account, the currency, the total
//! and the SKU × quantity lines. `checkout.session.completed` converts the oldest open hold
//! with the order's fingerprint into sold stock (the one naming the session when the
//! request did name it); a hold nobody converts gives its stock back once its expiry has
//! passed. Every move is one DynamoDB transaction (`store::StockHolds`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a hold stands. Only `Open` holds keep stock; every other status is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldStatus {
    Open,
    /// The checkout completed: the stock is sold.
    Converted,
    /// Nobody completed it in time: the stock went back.
    Expired,
    /// The checkout was given up early (its session expired or its payment failed).
    Released,
}

/// One counted SKU of a hold: preorders, backorders and untracked stock are not held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldLine {
    pub sku: String,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub account_id: String,
    /// The finalize request's id: a retried request finds its own hold.
    pub hold_id: String,
    pub fingerprint: String,
    /// The checkout session, when the request named one: then only that order converts it.
    #[serde(default)]
    pub session_id: Option<String>,
    pub lines: Vec<HoldLine>,
    pub status: HoldStatus,
    pub created_at: i64,
    /// After this (ms), an open hold gives its stock back.
    pub expires_at: i64,
    /// The order that converted it.
    #[serde(default)]
    pub order_session: Option<String>,
    /// How many of `lines` (in order) are out of stock so far, while a hold too large for
    /// one transaction is being placed in steps; None once all of them are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placed_lines: Option<usize>,
    /// While a hold too large for one transaction is ending in steps: how it ends...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending_to: Option<HoldStatus>,
    /// ...and how many of its placed lines have moved so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ending_moved: Option<usize>,
}

impl Hold {
    /// Whether `session_id`'s order may convert this hold: a hold that names a session
    /// belongs to that session only.
    pub fn may_convert_for(&self, session_id: &str) -> bool {
        self.status == HoldStatus::Open
            && self.is_whole()
            && self.session_id.as_deref().is_none_or(|s| s == session_id)
    }

    /// Open, fully placed and not ending: only such a hold was ever approved.
    pub fn is_whole(&self) -> bool {
        self.placed_lines.is_none() && self.ending_to.is_none()
    }

    /// The lines whose stock this hold took (all of them, unless it is still being placed).
    pub fn placed(&self) -> &[HoldLine] {
        &self.lines[..self
            .placed_lines
            .unwrap_or(self.lines.len())
            .min(self.lines.len())]
    }
}

/// Which hold an order converts, among the holds with its fingerprint: the one it already
/// converted (a redelivered event), else the open one naming its session, else the oldest
/// open one naming no session.
pub fn hold_to_convert<'a>(holds: &'a [Hold], session_id: &str) -> Option<&'a Hold> {
    if let Some(done) = holds
        .iter()
        .find(|h| h.order_session.as_deref() == Some(session_id))
    {
        return Some(done);
    }
    holds
        .iter()
        .filter(|h| h.may_convert_for(session_id))
        .min_by_key(|h| (h.session_id.is_none(), h.created_at, h.hold_id.clone()))
}

/// The fingerprint both a finalize request and its order show: account, currency, total
/// (minor units) and the SKU × quantity lines, merged by SKU and order-independent.
pub fn fingerprint<'a>(
    account_id: &str,
    currency: &str,
    amount_total: i64,
    lines: impl IntoIterator<Item = (&'a str, i64)>,
) -> String {
    let mut merged: BTreeMap<&str, i64> = BTreeMap::new();
    for (sku, quantity) in lines {
        *merged.entry(sku).or_default() += quantity;
    }
    let mut hasher = Sha256::new();
    let mut field = |text: &str| {
        hasher.update((text.len() as u64).to_be_bytes());
        hasher.update(text.as_bytes());
    };
    field(account_id);
    field(&currency.to_ascii_lowercase());
    field(&amount_total.to_string());
    for (sku, quantity) in merged {
        field(sku);
        field(&quantity.to_string());
    }
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hold(id: &str, created_at: i64, session: Option<&str>, status: HoldStatus) -> Hold {
        Hold {
            account_id: "acct_1".into(),
            hold_id: id.into(),
            fingerprint: "fp".into(),
            session_id: session.map(str::to_string),
            lines: vec![],
            status,
            created_at,
            expires_at: created_at + 1,
            order_session: None,
            placed_lines: None,
            ending_to: None,
            ending_moved: None,
        }
    }

    #[test]
    fn fingerprints_ignore_line_order_and_split_lines_but_not_anything_else() {
        let a = fingerprint("acct_1", "usd", 3000, [("A", 1), ("B", 2)]);
        assert_eq!(
            a,
            fingerprint("acct_1", "USD", 3000, [("B", 1), ("A", 1), ("B", 1)])
        );
        for other in [
            fingerprint("acct_2", "usd", 3000, [("A", 1), ("B", 2)]),
            fingerprint("acct_1", "eur", 3000, [("A", 1), ("B", 2)]),
            fingerprint("acct_1", "usd", 3001, [("A", 1), ("B", 2)]),
            fingerprint("acct_1", "usd", 3000, [("A", 2), ("B", 1)]),
            fingerprint("acct_1", "usd", 3000, [("A", 1), ("B", 2), ("C", 1)]),
            // Field boundaries cannot be moved around.
            fingerprint("acct_1", "usd", 3000, [("A1", 1), ("B", 2)]),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn the_oldest_open_hold_converts_and_a_named_session_is_exact() {
        let holds = vec![
            hold("h3", 30, None, HoldStatus::Open),
            hold("h1", 10, None, HoldStatus::Expired),
            hold("h2", 20, None, HoldStatus::Open),
            hold("h4", 5, Some("cs_other"), HoldStatus::Open),
        ];
        assert_eq!(
            hold_to_convert(&holds, "cs_1").map(|h| h.hold_id.as_str()),
            Some("h2")
        );
        let mut named = holds.clone();
        named.push(hold("h5", 40, Some("cs_1"), HoldStatus::Open));
        assert_eq!(
            hold_to_convert(&named, "cs_1").map(|h| h.hold_id.as_str()),
            Some("h5")
        );
        // The hold naming another session is never taken.
        let only_other = vec![hold("h4", 5, Some("cs_other"), HoldStatus::Open)];
        assert!(hold_to_convert(&only_other, "cs_1").is_none());
        // Nor one still being placed (never approved) or already ending.
        let mut placing = hold("h6", 1, None, HoldStatus::Open);
        placing.placed_lines = Some(99);
        let mut ending = hold("h7", 2, None, HoldStatus::Open);
        ending.ending_to = Some(HoldStatus::Released);
        assert!(hold_to_convert(&[placing, ending], "cs_1").is_none());
    }

    #[test]
    fn a_redelivered_order_finds_the_hold_it_converted() {
        let mut done = hold("h1", 10, None, HoldStatus::Converted);
        done.order_session = Some("cs_1".into());
        let holds = vec![done, hold("h2", 20, None, HoldStatus::Open)];
        assert_eq!(
            hold_to_convert(&holds, "cs_1").map(|h| h.hold_id.as_str()),
            Some("h1")
        );
    }
}
