//! `finalize_checkout`: approve or decline, reserve stock, charge the platform's fee.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::request::FinalizeData;
use crate::merchants::CheckoutSettings;
use crate::skus::SkuRecord;
use crate::store::{
    AgreementStore, Reservation, SkuRecords, StockLine, StockReservations, StoreError,
};

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
pub async fn finalize<S: SkuRecords + StockReservations, G: AgreementStore>(
    store: &S,
    agreements: &G,
    account_id: &str,
    request_id: &str,
    settings: &CheckoutSettings,
    data: &FinalizeData,
) -> Result<Value, StoreError> {
    if let Some(reason) = rule_decline(settings, data) {
        return Ok(declined(&reason));
    }
    if settings.require_agreement {
        if let Some((profile, name)) = data.agent() {
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
            if !confirmed {
                return Ok(declined("This store does not sell through this agent."));
            }
        }
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
        if sku.availability == "out_of_stock" {
            return Ok(declined(&format!("{label} is out of stock.")));
        }
        let entry = wanted.entry(sku.sku.as_str()).or_insert((0, sku, label));
        entry.0 += line.quantity();
    }
    // Preorders, backorders and untracked inventory sell without counting stock.
    let mut lines = Vec::new();
    for (sku, (quantity, record, label)) in &wanted {
        let counted = record.availability == "in_stock" && record.quantity.is_some();
        if !counted {
            continue;
        }
        let available = record.available.or(record.quantity).unwrap_or(0);
        if *quantity > available {
            return Ok(declined(&short_reason(label, available)));
        }
        lines.push(StockLine {
            sku: sku.to_string(),
            quantity: *quantity,
            source_import: record.source_import.clone(),
        });
    }
    lines.sort_by(|a, b| a.sku.cmp(&b.sku));
    if !lines.is_empty() {
        let reservation_id = data.checkout_session.as_deref().unwrap_or(request_id);
        if let Reservation::Short { sku } =
            store.reserve(account_id, reservation_id, &lines).await?
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

fn short_reason(label: &str, left: i64) -> String {
    if left <= 0 {
        format!("{label} is sold out.")
    } else {
        format!("Only {left} of {label} left in stock.")
    }
}
