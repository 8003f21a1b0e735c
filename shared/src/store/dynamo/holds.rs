//! Stock holds in the Catalog table (see `crate::holds`). A hold is `HOLD#<fingerprint>#<id>`
//! under the account, so an order finds the holds with its fingerprint in one query; a hold
//! that names its session also has a `HOLDSESSION#<session>` pointer. Open holds carry
//! `hold_open` and `expires_at`, the keys of the sparse `open_holds` index the sweep reads.
//! Every move is one transaction over the hold and each SKU it touches.
//!
//! A cart may have up to 100 counted SKUs (Stripe's limit on a Checkout Session's line
//! items, docs/stripe.md), one more than a transaction holds beside the hold itself. Such a
//! hold is placed in steps, each one transaction that also advances `placed_lines` on the
//! hold under a condition on its previous value; it ends in steps the same way
//! (`ending_to`, `ending_moved`). A crash between steps leaves an open hold that says how
//! far it got: a retried request or the expiry sweep carries it on, and only the lines
//! already moved are moved back. Nothing is approved until every step is done.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::catalog::{DynamoCatalog, item_of, sku_key};
use super::{classify, decode, n, s};
use crate::holds::{Hold, HoldLine, HoldStatus, hold_to_convert};
use crate::store::{Placement, SkuRecords, StockHolds, StoreError};

/// The sparse index of open holds by expiry.
pub const OPEN_HOLDS_INDEX: &str = "open_holds";
const OPEN: &str = "1";

/// DynamoDB's limit on the items of one transaction.
pub const TRANSACTION_ITEMS: usize = 100;

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

    /// Ends an open hold as `to` (converted, expired, released), in as many transactions
    /// as its placed lines need, each with the SKUs it moves: a conversion only stops
    /// counting the stock as held (it is sold); the others give it back. A hold already
    /// ending carries on as it started. Lines whose SKU a feed has since deleted, or
    /// re-created without the hold, are left out: there is no held stock to move. False
    /// when the hold was no longer open (or, for `expire_before`, not yet due).
    async fn end_hold(
        &self,
        hold: &Hold,
        to: HoldStatus,
        order_session: Option<&str>,
        expire_before: Option<i64>,
    ) -> Result<bool, StoreError> {
        let to = hold.ending_to.unwrap_or(to);
        let placed = hold.placed();
        let mut moved = hold.ending_moved.unwrap_or(0).min(placed.len());
        let skus: Vec<String> = placed[moved..].iter().map(|l| l.sku.clone()).collect();
        let current = self.skus(&hold.account_id, &skus).await?;
        loop {
            let first = moved == hold.ending_moved.unwrap_or(0);
            let upto = (moved + TRANSACTION_ITEMS - 1).min(placed.len());
            let last = upto == placed.len();
            let mut update = self
                .hold_update(hold)
                .expression_attribute_values(":open", status(HoldStatus::Open))
                .expression_attribute_values(":to", status(to));
            let mut set = vec!["#status = :open"];
            let mut remove = vec![];
            if last {
                set[0] = "#status = :to";
                remove.extend(["hold_open", "ending_to", "ending_moved"]);
            } else {
                set.push("ending_to = :to");
                set.push("ending_moved = :upto");
                update = update.expression_attribute_values(":upto", n(upto as i64));
            }
            if let Some(session) = order_session {
                set.push("order_session = :order");
                update = update.expression_attribute_values(":order", s(session));
            }
            let mut condition = vec!["#status = :open".to_string()];
            if hold.ending_to.is_some() || !first {
                condition.push("ending_to = :to AND ending_moved = :moved".into());
                update = update.expression_attribute_values(":moved", n(moved as i64));
            } else {
                condition.push("attribute_not_exists(ending_to)".into());
            }
            match hold.placed_lines {
                Some(p) => {
                    condition.push("placed_lines = :placed".into());
                    update = update.expression_attribute_values(":placed", n(p as i64));
                }
                None => condition.push("attribute_not_exists(placed_lines)".into()),
            }
            if let (Some(now), true) = (expire_before, first && hold.ending_to.is_none()) {
                condition.push("expires_at <= :now".into());
                update = update.expression_attribute_values(":now", n(now));
            }
            let mut expression = format!("SET {}", set.join(", "));
            if !remove.is_empty() {
                expression.push_str(&format!(" REMOVE {}", remove.join(", ")));
            }
            let update = update
                .update_expression(expression)
                .condition_expression(condition.join(" AND "))
                .build()
                .map_err(permanent)?;
            let mut items = vec![TransactWriteItem::builder().update(update).build()];
            for line in &placed[moved..upto] {
                let still_held = current
                    .get(&line.sku)
                    .and_then(|r| r.held)
                    .is_some_and(|held| held >= line.quantity);
                if still_held {
                    items.push(self.stock_move(hold, line, to)?);
                }
            }
            match self.transact(items).await? {
                None => {}
                // Not open any more, or not yet due: someone else ended it (or will).
                Some(reasons) if failed(&reasons, 0) && first => return Ok(false),
                Some(reasons) => {
                    // A SKU or the hold changed between the read and the write (a feed,
                    // another hold, another invocation carrying this one on): this step
                    // moved nothing; the caller or the next sweep tries again.
                    return Err(StoreError::Transient(format!(
                        "hold {} not ended: {reasons:?}",
                        hold.hold_id
                    )));
                }
            }
            if last {
                return Ok(true);
            }
            moved = upto;
        }
    }

    fn hold_update(&self, hold: &Hold) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        Update::builder()
            .table_name(&self.table)
            .key("account_id", s(&hold.account_id))
            .key("sk", s(&hold_key(&hold.fingerprint, &hold.hold_id)))
            .expression_attribute_names("#status", "status")
    }

    /// One SKU's part of ending a hold: sold stock stops being held; given-up stock goes
    /// back to `available`.
    fn stock_move(
        &self,
        hold: &Hold,
        line: &HoldLine,
        to: HoldStatus,
    ) -> Result<TransactWriteItem, StoreError> {
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
        Ok(TransactWriteItem::builder().update(sku).build())
    }

    /// One SKU's part of placing a hold: the stock leaves `available` for `held`.
    fn stock_take(&self, hold: &Hold, line: &HoldLine) -> Result<TransactWriteItem, StoreError> {
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
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Runs one transaction: None when it applied, else the cancellation code per item.
    async fn transact(
        &self,
        items: Vec<TransactWriteItem>,
    ) -> Result<Option<Vec<Option<String>>>, StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(None),
            Err(error) => cancellation(error).map(Some),
        }
    }

    /// The hold as stored now, if any.
    async fn stored_hold(&self, hold: &Hold) -> Result<Option<Hold>, StoreError> {
        self.get(&hold.account_id, hold_key(&hold.fingerprint, &hold.hold_id))
            .await?
            .map(|item| decode(&item))
            .transpose()
    }

    /// Places `lines[from..]` of an open hold whose first `from` lines are taken, one
    /// transaction per step. When a SKU is short, what was taken goes back.
    async fn place_rest(&self, hold: &Hold, from: usize) -> Result<Placement, StoreError> {
        let mut from = from;
        while from < hold.lines.len() {
            let upto = (from + TRANSACTION_ITEMS - 1).min(hold.lines.len());
            let mut update = self
                .hold_update(hold)
                .condition_expression(
                    "#status = :open AND placed_lines = :from AND attribute_not_exists(ending_to)",
                )
                .expression_attribute_values(":open", status(HoldStatus::Open))
                .expression_attribute_values(":from", n(from as i64));
            update = if upto == hold.lines.len() {
                update.update_expression("REMOVE placed_lines")
            } else {
                update
                    .update_expression("SET placed_lines = :upto")
                    .expression_attribute_values(":upto", n(upto as i64))
            };
            let mut items = vec![
                TransactWriteItem::builder()
                    .update(update.build().map_err(permanent)?)
                    .build(),
            ];
            for line in &hold.lines[from..upto] {
                items.push(self.stock_take(hold, line)?);
            }
            let Some(reasons) = self.transact(items).await? else {
                from = upto;
                continue;
            };
            if let Some(i) = (0..upto - from).find(|&i| failed(&reasons, i + 1)) {
                let sku = hold.lines[from + i].sku.clone();
                self.give_back_partial(hold).await;
                return Ok(Placement::Short { sku });
            }
            return Err(StoreError::Transient(format!(
                "hold {} not placed past line {from}: {reasons:?}",
                hold.hold_id
            )));
        }
        Ok(Placement::Placed)
    }

    /// A hold that could not be placed whole gives back what it took. Should that fail,
    /// the hold stays open and partly placed, and the expiry sweep gives it back.
    async fn give_back_partial(&self, hold: &Hold) {
        let result = match self.stored_hold(hold).await {
            Ok(Some(stored)) => self
                .end_hold(&stored, HoldStatus::Released, None, None)
                .await
                .map(|_| ()),
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            tracing::warn!(account = %hold.account_id, hold = %hold.hold_id, error = %e, "a partly placed hold keeps its stock until it expires");
        }
    }
}

impl StockHolds for DynamoCatalog {
    async fn place(&self, hold: &Hold) -> Result<Placement, StoreError> {
        let first_step = TRANSACTION_ITEMS - 1 - usize::from(hold.session_id.is_some());
        let in_first = hold.lines.len().min(first_step);
        let mut items = Vec::with_capacity(in_first + 2);
        for line in &hold.lines[..in_first] {
            items.push(self.stock_take(hold, line)?);
        }
        let mut item = item_of(hold, hold_key(&hold.fingerprint, &hold.hold_id))?;
        item.insert("hold_open".into(), s(OPEN));
        if in_first < hold.lines.len() {
            item.insert("placed_lines".into(), n(in_first as i64));
        }
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
        let Some(reasons) = self.transact(items).await? else {
            return self.place_rest(hold, in_first).await;
        };
        if failed(&reasons, in_first) {
            // This request's hold exists: a retry. One left partly placed by an invocation
            // that stopped is carried on; a whole one is already placed.
            return match self.stored_hold(hold).await? {
                Some(stored) if stored.status == HoldStatus::Open => {
                    match (stored.placed_lines, stored.ending_to) {
                        (Some(from), None) => self.place_rest(&stored, from).await,
                        (_, Some(_)) => Err(StoreError::Transient(format!(
                            "hold {} is being given back",
                            hold.hold_id
                        ))),
                        (None, None) => Ok(Placement::AlreadyPlaced),
                    }
                }
                _ => Ok(Placement::AlreadyPlaced),
            };
        }
        match (0..in_first).find(|&i| failed(&reasons, i)) {
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
            if hold.status == HoldStatus::Converted {
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
        if hold.status != HoldStatus::Open || hold.ending_to == Some(HoldStatus::Converted) {
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
