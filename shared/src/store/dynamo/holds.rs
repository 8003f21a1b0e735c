//! Stock holds in the Catalog table (see `crate::holds`). A hold is `HOLD#<fingerprint>#<id>`
//! under the account, so an order finds the holds with its fingerprint in one query; a hold
//! that names its session also has a `HOLDSESSION#<session>` pointer. Open holds carry
//! `hold_open` and `expires_at`, the keys of the sparse `open_holds` index the sweep reads.
//! Every move is one transaction over the hold and each SKU it touches.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::catalog::{DynamoCatalog, item_of, sku_key};
use super::{classify, decode, n, s};
use crate::holds::{Hold, HoldStatus, hold_to_convert};
use crate::store::{Placement, SkuRecords, StockHolds, StoreError};

/// The sparse index of open holds by expiry.
pub const OPEN_HOLDS_INDEX: &str = "open_holds";
const OPEN: &str = "1";

/// A transaction holds at most 100 items: the hold, its session pointer, 98 SKUs.
pub const MAX_HOLD_LINES: usize = 98;

fn hold_key(fingerprint: &str, hold_id: &str) -> String {
    format!("HOLD#{fingerprint}#{hold_id}")
}

fn session_key(session_id: &str) -> String {
    format!("HOLDSESSION#{session_id}")
}

fn status(status: HoldStatus) -> AttributeValue {
    s(match status {
        HoldStatus::Open => "open",
        HoldStatus::Converted => "converted",
        HoldStatus::Expired => "expired",
        HoldStatus::Released => "released",
    })
}

fn permanent(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Permanent(e.to_string())
}

/// The cancellation code of each item, when a transaction was cancelled; otherwise the
/// classified error.
fn cancellation<R>(
    error: SdkError<TransactWriteItemsError, R>,
) -> Result<Vec<Option<String>>, StoreError>
where
    R: std::fmt::Debug,
{
    match error.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => Ok(c
            .cancellation_reasons()
            .iter()
            .map(|r| r.code().map(str::to_string))
            .collect()),
        _ => Err(classify(error)),
    }
}

fn failed(reasons: &[Option<String>], i: usize) -> bool {
    reasons.get(i).and_then(|r| r.as_deref()) == Some("ConditionalCheckFailed")
}

impl DynamoCatalog {
    fn sku_update(
        &self,
        account_id: &str,
        sku: &str,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("sk", s(&sku_key(sku)))
    }

    /// Every hold with `fingerprint`, read consistently.
    async fn holds_with(
        &self,
        account_id: &str,
        fingerprint: &str,
    ) -> Result<Vec<Hold>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("account_id = :a AND begins_with(sk, :p)")
            .expression_attribute_values(":a", s(account_id))
            .expression_attribute_values(":p", s(&format!("HOLD#{fingerprint}#")))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.items().iter().map(decode).collect()
    }

    /// Ends an open hold as `to` (converted, expired, released) in one transaction with its
    /// SKUs: a conversion only stops counting the stock as held (it is sold); the others
    /// give it back. Lines whose SKU a feed has since deleted, or re-created without the
    /// hold, are left out: there is no held stock to move. False when the hold was no
    /// longer open (or, for `expire_before`, not yet due).
    async fn end_hold(
        &self,
        hold: &Hold,
        to: HoldStatus,
        order_session: Option<&str>,
        expire_before: Option<i64>,
    ) -> Result<bool, StoreError> {
        let skus: Vec<String> = hold.lines.iter().map(|l| l.sku.clone()).collect();
        let current = self.skus(&hold.account_id, &skus).await?;
        let mut update = Update::builder()
            .table_name(&self.table)
            .key("account_id", s(&hold.account_id))
            .key("sk", s(&hold_key(&hold.fingerprint, &hold.hold_id)))
            .update_expression("SET #status = :to REMOVE hold_open")
            .condition_expression("#status = :open")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":to", status(to))
            .expression_attribute_values(":open", status(HoldStatus::Open));
        if let Some(session) = order_session {
            update = update
                .update_expression("SET #status = :to, order_session = :order REMOVE hold_open")
                .expression_attribute_values(":order", s(session));
        }
        if let Some(now) = expire_before {
            update = update
                .condition_expression("#status = :open AND expires_at <= :now")
                .expression_attribute_values(":now", n(now));
        }
        let mut items = vec![
            TransactWriteItem::builder()
                .update(update.build().map_err(permanent)?)
                .build(),
        ];
        for line in &hold.lines {
            let still_held = current
                .get(&line.sku)
                .and_then(|r| r.held)
                .is_some_and(|held| held >= line.quantity);
            if !still_held {
                continue;
            }
            let expression = if to == HoldStatus::Converted {
                "SET held = held - :q"
            } else {
                "SET held = held - :q, available = available + :q"
            };
            let sku = self
                .sku_update(&hold.account_id, &line.sku)
                .update_expression(expression)
                .condition_expression("held >= :q")
                .expression_attribute_values(":q", n(line.quantity))
                .build()
                .map_err(permanent)?;
            items.push(TransactWriteItem::builder().update(sku).build());
        }
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(error) => {
                let reasons = cancellation(error)?;
                if failed(&reasons, 0) {
                    return Ok(false);
                }
                // A SKU changed between the read and the write (a feed, another hold):
                // nothing moved; the caller or the next sweep tries again.
                Err(StoreError::Transient(format!(
                    "hold {} not ended: {reasons:?}",
                    hold.hold_id
                )))
            }
        }
    }
}

impl StockHolds for DynamoCatalog {
    async fn place(&self, hold: &Hold) -> Result<Placement, StoreError> {
        if hold.lines.len() > MAX_HOLD_LINES {
            return Err(StoreError::Permanent(format!(
                "a hold covers at most {MAX_HOLD_LINES} SKUs"
            )));
        }
        let mut items = Vec::with_capacity(hold.lines.len() + 2);
        for line in &hold.lines {
            let update = self
                .sku_update(&hold.account_id, &line.sku)
                .update_expression(
                    "SET available = available - :q, held = if_not_exists(held, :zero) + :q",
                )
                .condition_expression("available >= :q")
                .expression_attribute_values(":q", n(line.quantity))
                .expression_attribute_values(":zero", n(0))
                .build()
                .map_err(permanent)?;
            items.push(TransactWriteItem::builder().update(update).build());
        }
        let mut item = item_of(hold, hold_key(&hold.fingerprint, &hold.hold_id))?;
        item.insert("hold_open".into(), s(OPEN));
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            // A hold given up (released, expired) may be placed again by the same request;
            // an open or converted one is not placed twice.
            .condition_expression(
                "attribute_not_exists(sk) OR #status = :released OR #status = :expired",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":released", status(HoldStatus::Released))
            .expression_attribute_values(":expired", status(HoldStatus::Expired))
            .build()
            .map_err(permanent)?;
        items.push(TransactWriteItem::builder().put(put).build());
        if let Some(session) = &hold.session_id {
            let pointer = Put::builder()
                .table_name(&self.table)
                .item("account_id", s(&hold.account_id))
                .item("sk", s(&session_key(session)))
                .item("hold_sk", s(&hold_key(&hold.fingerprint, &hold.hold_id)))
                .build()
                .map_err(permanent)?;
            items.push(TransactWriteItem::builder().put(pointer).build());
        }
        let error = match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => return Ok(Placement::Placed),
            Err(e) => e,
        };
        let reasons = cancellation(error)?;
        if failed(&reasons, hold.lines.len()) {
            return Ok(Placement::AlreadyPlaced);
        }
        match (0..hold.lines.len()).find(|&i| failed(&reasons, i)) {
            Some(i) => Ok(Placement::Short {
                sku: hold.lines[i].sku.clone(),
            }),
            // Cancelled for another reason (a conflicting transaction): worth retrying.
            None => Err(StoreError::Transient(format!(
                "hold not placed: {reasons:?}"
            ))),
        }
    }

    async fn convert(
        &self,
        account_id: &str,
        fingerprint: &str,
        session_id: &str,
    ) -> Result<Option<String>, StoreError> {
        // A lost race (another delivery, the sweep) changes the picture: look again.
        for _ in 0..5 {
            let holds = self.holds_with(account_id, fingerprint).await?;
            let Some(hold) = hold_to_convert(&holds, session_id) else {
                return Ok(None);
            };
            if hold.order_session.as_deref() == Some(session_id) {
                return Ok(Some(hold.hold_id.clone()));
            }
            if self
                .end_hold(hold, HoldStatus::Converted, Some(session_id), None)
                .await?
            {
                return Ok(Some(hold.hold_id.clone()));
            }
        }
        Err(StoreError::Transient(format!(
            "the holds for the order of {session_id} kept changing"
        )))
    }

    async fn release_for_session(
        &self,
        account_id: &str,
        session_id: &str,
    ) -> Result<bool, StoreError> {
        let Some(pointer) = self.get(account_id, session_key(session_id)).await? else {
            return Ok(false);
        };
        let Some(hold_sk) = pointer.get("hold_sk").and_then(|v| v.as_s().ok()) else {
            return Ok(false);
        };
        let Some(item) = self.get(account_id, hold_sk.clone()).await? else {
            return Ok(false);
        };
        let hold: Hold = decode(&item)?;
        if hold.status != HoldStatus::Open {
            return Ok(false);
        }
        self.end_hold(&hold, HoldStatus::Released, None, None).await
    }

    async fn expire_due(&self, now_millis: i64, limit: usize) -> Result<usize, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(OPEN_HOLDS_INDEX)
            .key_condition_expression("hold_open = :open AND expires_at <= :now")
            .expression_attribute_values(":open", s(OPEN))
            .expression_attribute_values(":now", n(now_millis))
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(classify)?;
        let holds: Vec<Hold> = output
            .items()
            .iter()
            .map(|item: &HashMap<String, AttributeValue>| decode(item))
            .collect::<Result<_, _>>()?;
        let mut expired = 0;
        for hold in &holds {
            match self
                .end_hold(hold, HoldStatus::Expired, None, Some(now_millis))
                .await
            {
                Ok(true) => expired += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(account = %hold.account_id, hold = %hold.hold_id, error = %e, "hold not expired now; the next sweep tries again");
                }
            }
        }
        Ok(expired)
    }
}
