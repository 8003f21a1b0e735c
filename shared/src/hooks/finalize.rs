//! `finalize_checkout`: approve or decline, reserve stock, charge the platform's fee.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::request::FinalizeData;
use crate::holds::{Hold, HoldLine, HoldStatus, fingerprint};
use crate::merchants::{AgreementRequirement, CheckoutSettings};
use crate::skus::{Availability, SkuRecord};
use crate::store::{AgreementStore, Placement, SkuRecords, StockHolds, StoreError};

/// When a hold placed now runs out, and how long placing it may keep trying.
#[derive(Debug, Clone, Copy)]
pub struct HoldTerms {
    pub now_millis: i64,
    /// How long an approved checkout keeps its stock without an order (setting, 30 minutes).
    pub hold_for: Duration,
    /// The request's own deadline: a reservation that keeps meeting conflicts is tried
    /// again until then, and then its error goes to the merchant's fallback.
    pub retry_until: Instant,
}

/// The first pause after a conflicting transaction; it doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(10);
const MAX_RETRY_DELAY: Duration = Duration::from_millis(200);

pub fn approved(settings: &CheckoutSettings, data: &FinalizeData) -> Value {
    let mut answer = json!({"manual_approval_details": {"type": "approved"}});
    if let Some(plan) = &settings.fee_plan {
        answer["application_fee_details"] =
            json!({"application_fee_amount": plan.fee(data.amount_total())});
    }
    answer
}

pub fn declined(reason: &str) -> Value {
    json!({"manual_approval_details": {"type": "declined", "declined": {"reason": reason}}})
}

/// The merchant's rules that need no stock: a reason a buyer can read, or None.
pub fn rule_decline(settings: &CheckoutSettings, data: &FinalizeData) -> Option<String> {
    if settings.paused {
        return Some("This store is not taking orders right now.".into());
    }
    let approval = &settings.approval;
    if !approval.allowed_countries.is_empty() {
        match data.country() {
            Some(country)
                if approval
                    .allowed_countries
                    .iter()
                    .any(|c| c.eq_ignore_ascii_case(country)) => {}
            Some(country) => {
                return Some(format!(
                    "This store does not ship to {}.",
                    country.to_ascii_uppercase()
                ));
            }
            None => return Some("A shipping address is required for this store.".into()),
        }
    }
    if let Some(maximum) = approval.max_order_amount {
        if data.amount_total() > maximum {
            return Some(
                "The order total is above what this store accepts for agent purchases.".into(),
            );
        }
    }
    if approval.refuse_prepaid_cards && data.card_funding() == Some("prepaid") {
        return Some("This store does not accept prepaid cards.".into());
    }
    None
}

/// The whole decision. Store errors go back to the caller, which applies the merchant's
/// fail-open or fail-closed choice.
pub async fn finalize<S: SkuRecords + StockHolds, G: AgreementStore>(
    store: &S,
    agreements: &G,
    account_id: &str,
    request_id: &str,
    settings: &CheckoutSettings,
    data: &FinalizeData,
    terms: HoldTerms,
) -> Result<Value, StoreError> {
    if let Some(reason) = rule_decline(settings, data) {
        return Ok(declined(&reason));
    }
    // Every stock and catalog check below runs per line: a request with none would pass
    // them all, so an empty (or unreadable) cart is never approved.
    if data.line_items_details.is_empty() {
        return Ok(declined("This checkout has no items to approve."));
    }
    if let Some(reason) = agreement_decline(agreements, account_id, settings, data).await? {
        return Ok(declined(&reason));
    }
    let ids: Vec<String> = data
        .line_items_details
        .iter()
        .filter_map(|l| l.sku_id.clone())
        .collect();
    let skus: HashMap<String, SkuRecord> = store.skus(account_id, &ids).await?;
    let mut wanted: HashMap<&str, (i64, &SkuRecord, &str)> = HashMap::new();
    for line in &data.line_items_details {
        let label = line.label();
        let Some(sku) = line.sku_id.as_deref().and_then(|id| skus.get(id)) else {
            return Ok(declined(&format!("{label} is not sold by this store.")));
        };
        if sku.availability == Availability::OutOfStock {
            return Ok(declined(&format!("{label} is out of stock.")));
        }
        let entry = wanted.entry(sku.sku.as_str()).or_insert((0, sku, label));
        entry.0 += line.quantity();
    }
    // Preorders, backorders and untracked inventory sell without counting stock.
    let mut lines: Vec<HoldLine> = wanted
        .iter()
        .filter(|(_, (_, record, _))| {
            record.availability == Availability::InStock && record.quantity.is_some()
        })
        .map(|(sku, (quantity, _, _))| HoldLine {
            sku: sku.to_string(),
            quantity: *quantity,
        })
        .collect();
    lines.sort_by(|a, b| a.sku.cmp(&b.sku));
    if !lines.is_empty() {
        let hold = Hold {
            account_id: account_id.to_string(),
            hold_id: request_id.to_string(),
            fingerprint: fingerprint(
                account_id,
                &data.currency,
                data.amount_total(),
                data.line_items_details
                    .iter()
                    .filter_map(|l| l.sku_id.as_deref().map(|sku| (sku, l.quantity()))),
            ),
            session_id: data.checkout_session.clone(),
            lines,
            status: HoldStatus::Open,
            created_at: terms.now_millis,
            expires_at: terms.now_millis + terms.hold_for.as_millis() as i64,
            order_session: None,
            placed_lines: None,
            ending_to: None,
            ending_moved: None,
        };
        // The store's conditions decide: a retried request finds its own hold
        // (AlreadyPlaced), however little stock is left for others.
        if let Placement::Short { sku } =
            place_with_retries(store, &hold, terms.retry_until).await?
        {
            let label = wanted.get(sku.as_str()).map_or("An item", |w| w.2);
            let left = store
                .skus(account_id, std::slice::from_ref(&sku))
                .await?
                .get(&sku)
                .and_then(|s| s.available)
                .unwrap_or(0);
            return Ok(declined(&short_reason(label, left)));
        }
    }
    Ok(approved(settings, data))
}

/// Places the hold, and after a transient failure (most often a conflict: another
/// checkout's transaction on the same SKU at the same moment) tries again after a jittered
/// pause, as long as the pause ends before `retry_until`. Each attempt is one transaction
/// keyed by the request, so trying again never holds twice.
async fn place_with_retries<S: StockHolds>(
    store: &S,
    hold: &Hold,
    retry_until: Instant,
) -> Result<Placement, StoreError> {
    let mut delay = FIRST_RETRY_DELAY;
    let mut attempt = 1u32;
    loop {
        match store.place(hold).await {
            Err(StoreError::Transient(why)) => {
                // Full jitter: racing checkouts spread out instead of meeting again.
                let pause = delay.mul_f64(0.5 + fastrand::f64() * 0.5);
                if Instant::now() + pause >= retry_until {
                    return Err(StoreError::Transient(format!(
                        "{why} (after {attempt} attempts)"
                    )));
                }
                tracing::debug!(hold = %hold.hold_id, attempt, error = %why, "reservation not placed; trying again");
                tokio::time::sleep(pause).await;
                delay = (delay * 2).min(MAX_RETRY_DELAY);
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// The merchant's agreement requirement: a reason to decline, or None.
async fn agreement_decline<G: AgreementStore>(
    agreements: &G,
    account_id: &str,
    settings: &CheckoutSettings,
    data: &FinalizeData,
) -> Result<Option<String>, StoreError> {
    let requirement = settings.require_agreement;
    if requirement == AgreementRequirement::Off {
        return Ok(None);
    }
    let Some((profile, name)) = data.agent() else {
        if requirement == AgreementRequirement::Always {
            return Ok(Some(
                "This store sells only through agents it has an agreement with.".into(),
            ));
        }
        tracing::warn!(
            account = account_id,
            "require_agreement is when_known and this request names no agent: approved without an agreement check"
        );
        return Ok(None);
    };
    let confirmed = agreements
        .agreements(account_id)
        .await?
        .into_iter()
        .filter(|a| a.is_confirmed())
        .any(|a| match profile {
            Some(profile) => a.orchestrator_profile.as_deref() == Some(profile),
            None => name.is_some_and(|n| {
                a.orchestrator_name
                    .as_deref()
                    .is_some_and(|o| o.eq_ignore_ascii_case(n))
            }),
        });
    Ok((!confirmed).then(|| "This store does not sell through this agent.".to_string()))
}

fn short_reason(label: &str, left: i64) -> String {
    if left <= 0 {
        format!("{label} is sold out.")
    } else {
        format!("Only {left} of {label} left in stock.")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::agreements::Agreement;
    use crate::merchants::{ApprovalRules, FeePlan};
    use crate::money::parse_price;
    use crate::skus::SkuChange;
    use crate::store::memory::{MemoryAgreements, MemoryCatalog};

    const ACCOUNT: &str = "acct_1Unit";
    fn terms() -> HoldTerms {
        HoldTerms {
            now_millis: 1_000,
            hold_for: Duration::from_secs(1800),
            retry_until: Instant::now() + Duration::from_secs(3),
        }
    }

    fn record(sku: &str, availability: Availability, quantity: Option<i64>) -> SkuChange {
        SkuChange::Replace(SkuRecord {
            account_id: ACCOUNT.into(),
            sku: sku.into(),
            title: Some(format!("Item {sku}")),
            availability,
            quantity,
            available: quantity,
            held: None,
            price: parse_price("15.00 USD"),
            shipping: vec![],
            shipping_cost_basis: None,
            source_import: "import-1".into(),
            updated_at: 0,
            product_import: None,
        })
    }

    async fn catalog() -> MemoryCatalog {
        let catalog = MemoryCatalog::default();
        catalog
            .apply_sku_changes(
                ACCOUNT,
                "import-1",
                0,
                &[
                    record("MUG", Availability::InStock, Some(3)),
                    record("GONE", Availability::OutOfStock, Some(0)),
                    record("PRE", Availability::Preorder, None),
                    record("FREE", Availability::InStock, None),
                ],
            )
            .await
            .unwrap();
        catalog
    }

    fn settings() -> CheckoutSettings {
        CheckoutSettings {
            fee_plan: Some(FeePlan {
                basis_points: 250,
                fixed: 30,
                minimum: 0,
                maximum: None,
            }),
            approval: ApprovalRules {
                allowed_countries: vec!["US".into()],
                max_order_amount: Some(100_000),
                refuse_prepaid_cards: true,
            },
            ..Default::default()
        }
    }

    /// A finalize request's data: `lines` as (sku, quantity), shipped to `country`.
    fn data(
        lines: &[(&str, i64)],
        country: Option<&str>,
        extra: serde_json::Value,
    ) -> FinalizeData {
        let items: Vec<_> = lines
            .iter()
            .enumerate()
            .map(|(i, (sku, q))| json!({"id": format!("li_{i}"), "sku_id": sku, "name": format!("Item {sku}"), "quantity": q, "unit_amount": 1500}))
            .collect();
        let total: i64 = lines.iter().map(|(_, q)| q * 1500).sum();
        let mut value =
            json!({"currency": "usd", "line_items_details": items, "amount_total": total});
        if let Some(country) = country {
            value["shipping_details"] = json!({"address": {"country": country, "state": "CA"}});
        }
        if let (Some(target), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        serde_json::from_value(value).unwrap()
    }

    async fn decide(settings: &CheckoutSettings, data: &FinalizeData) -> Value {
        let catalog = catalog().await;
        let agreements = MemoryAgreements::default();
        finalize(
            &catalog,
            &agreements,
            ACCOUNT,
            "req_1",
            settings,
            data,
            terms(),
        )
        .await
        .unwrap()
    }

    fn reason(answer: &Value) -> &str {
        answer["manual_approval_details"]["declined"]["reason"]
            .as_str()
            .unwrap_or_else(|| panic!("not a decline: {answer}"))
    }

    #[tokio::test]
    async fn the_merchants_rules_decline_with_a_reason_a_buyer_can_read() {
        let s = settings();
        let mut paused = s.clone();
        paused.paused = true;
        let cases = [
            (
                paused,
                data(&[("MUG", 1)], Some("US"), json!({})),
                "This store is not taking orders right now.",
            ),
            (
                s.clone(),
                data(&[("MUG", 1)], Some("FR"), json!({})),
                "This store does not ship to FR.",
            ),
            (
                s.clone(),
                data(&[("MUG", 1)], None, json!({})),
                "A shipping address is required for this store.",
            ),
            (
                s.clone(),
                data(&[("MUG", 1)], Some("US"), json!({"amount_total": 100_001})),
                "The order total is above what this store accepts for agent purchases.",
            ),
            (
                s.clone(),
                data(
                    &[("MUG", 1)],
                    Some("US"),
                    json!({"payment_method_details": {"type": "card", "card": {"funding": "prepaid"}}}),
                ),
                "This store does not accept prepaid cards.",
            ),
        ];
        for (settings, data, expected) in cases {
            assert_eq!(reason(&decide(&settings, &data).await), expected);
        }
    }

    #[tokio::test]
    async fn the_catalog_declines_unknown_sold_out_and_short_items() {
        let s = settings();
        let cases = [
            (vec![("NOPE", 1)], "Item NOPE is not sold by this store."),
            (vec![("GONE", 1)], "Item GONE is out of stock."),
            (vec![("MUG", 4)], "Only 3 of Item MUG left in stock."),
            // Two lines of one SKU count together.
            (
                vec![("MUG", 2), ("MUG", 2)],
                "Only 3 of Item MUG left in stock.",
            ),
        ];
        for (lines, expected) in cases {
            let answer = decide(&s, &data(&lines, Some("US"), json!({}))).await;
            assert_eq!(reason(&answer), expected, "{lines:?}");
        }
    }

    #[tokio::test]
    async fn either_spelling_of_the_lines_is_checked_and_an_empty_cart_is_declined() {
        let s = settings();
        let singular: FinalizeData = serde_json::from_value(json!({
            "currency": "usd", "amount_total": 6000,
            "shipping_details": {"address": {"country": "US"}},
            "line_item_details": [{"id": "li_0", "sku_id": "MUG", "name": "Mug", "quantity": 4}]}))
        .unwrap();
        assert_eq!(
            reason(&decide(&s, &singular).await),
            "Only 3 of Mug left in stock."
        );

        for empty in [json!({}), json!({"line_items_details": []})] {
            let mut value = json!({"currency": "usd", "amount_total": 0,
                "shipping_details": {"address": {"country": "US"}}});
            value
                .as_object_mut()
                .unwrap()
                .extend(empty.as_object().unwrap().clone());
            let data: FinalizeData = serde_json::from_value(value).unwrap();
            assert_eq!(
                reason(&decide(&s, &data).await),
                "This checkout has no items to approve.",
                "{empty}"
            );
        }

        let both = json!({"currency": "usd", "line_items_details": [], "line_item_details": []});
        assert!(serde_json::from_value::<FinalizeData>(both).is_err());
    }

    #[tokio::test]
    async fn an_approval_reserves_counted_stock_once_and_charges_the_fee() {
        let s = settings();
        let catalog = catalog().await;
        let agreements = MemoryAgreements::default();
        let order = data(
            &[("MUG", 1), ("PRE", 5), ("FREE", 9)],
            Some("US"),
            json!({}),
        );
        let answer = finalize(&catalog, &agreements, ACCOUNT, "req_1", &s, &order, terms())
            .await
            .unwrap();
        assert_eq!(
            answer["manual_approval_details"]["type"], "approved",
            "{answer}"
        );
        // 2.5% of 225.00 (5.625, rounded half up) + 0.30.
        assert_eq!(
            answer["application_fee_details"]["application_fee_amount"],
            593
        );
        let available = |sku: &'static str| {
            let catalog = &catalog;
            async move { catalog.sku(ACCOUNT, sku).await.unwrap().unwrap().available }
        };
        assert_eq!(
            available("MUG").await,
            Some(2),
            "preorders and untracked stock are not counted"
        );
        // The same request again (its stored answer lost) reserves nothing more.
        let again = finalize(&catalog, &agreements, ACCOUNT, "req_1", &s, &order, terms())
            .await
            .unwrap();
        assert_eq!(again["manual_approval_details"]["type"], "approved");
        assert_eq!(available("MUG").await, Some(2));
        // Other buyers take what is left, then find it gone.
        let mut two = order.clone();
        two.line_items_details[0].quantity = Some(2);
        let other = finalize(&catalog, &agreements, ACCOUNT, "req_2", &s, &two, terms())
            .await
            .unwrap();
        assert_eq!(other["manual_approval_details"]["type"], "approved");
        let late = finalize(&catalog, &agreements, ACCOUNT, "req_3", &s, &order, terms())
            .await
            .unwrap();
        assert_eq!(reason(&late), "Item MUG is sold out.");
    }

    #[tokio::test]
    async fn required_agreements_decline_agents_without_a_confirmed_one() {
        let mut s = settings();
        s.require_agreement = AgreementRequirement::WhenKnown;
        let catalog = catalog().await;
        let agreements = MemoryAgreements::default();
        let confirmed = json!({"id": "orca_1", "status": "confirmed",
            "orchestrator_details": {"name": "ChatGPT", "network_business_profile": "nbp_openai"},
            "status_transitions": {"orchestrator_confirmed_at": "x", "seller_confirmed_at": "y"}});
        agreements
            .put_if_newer(&Agreement::from_stripe(ACCOUNT, &confirmed).unwrap())
            .await
            .unwrap();
        let by = |agent: serde_json::Value| {
            data(&[("MUG", 1)], Some("US"), json!({"agent_details": agent}))
        };
        let decide = |d: FinalizeData, id: &'static str| {
            let (catalog, agreements, s) = (&catalog, &agreements, &s);
            async move {
                finalize(catalog, agreements, ACCOUNT, id, s, &d, terms())
                    .await
                    .unwrap()
            }
        };
        let known = decide(by(json!({"network_business_profile": "nbp_openai"})), "r1").await;
        assert_eq!(known["manual_approval_details"]["type"], "approved");
        let by_name = decide(by(json!({"name": "chatgpt"})), "r2").await;
        assert_eq!(by_name["manual_approval_details"]["type"], "approved");
        let stranger = decide(by(json!({"network_business_profile": "nbp_other"})), "r3").await;
        assert_eq!(
            reason(&stranger),
            "This store does not sell through this agent."
        );
    }
}
