//! Reconciliation progress on DynamoDB: a `reconcile` map on each merchant's item of the
//! Merchants table, written with a version condition. (The operators' CLI replaces a
//! merchant's whole item when it saves settings, which clears this map: the merchant's next
//! reconciliation then scans the initial look-back again, which records nothing twice.)

use aws_sdk_dynamodb::Client;
use serde::Deserialize;

use super::{classify, decode, encode_attr, n, s, written};
use crate::orders::ReconcileState;
use crate::store::{ReconcileProgress, StoreError};

#[derive(Debug, Clone)]
pub struct DynamoReconcileProgress {
    client: Client,
    table: String,
}

impl DynamoReconcileProgress {
    pub fn new(client: Client, merchants_table: impl Into<String>) -> Self {
        Self {
            client,
            table: merchants_table.into(),
        }
    }
}

#[derive(Deserialize)]
struct Row {
    account_id: String,
    #[serde(default)]
    reconcile: Option<ReconcileState>,
}

impl ReconcileProgress for DynamoReconcileProgress {
    async fn reconcile_states(&self) -> Result<Vec<(String, ReconcileState)>, StoreError> {
        let mut states = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .projection_expression("account_id, #r")
                .expression_attribute_names("#r", "reconcile")
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(classify)?;
            for item in output.items() {
                let row: Row = decode(item)?;
                states.push((row.account_id, row.reconcile.unwrap_or_default()));
            }
            start = output.last_evaluated_key().cloned();
            if start.is_none() {
                return Ok(states);
            }
        }
    }

    async fn save_reconcile_state(
        &self,
        account_id: &str,
        next: &ReconcileState,
    ) -> Result<bool, StoreError> {
        let expected = next.version.saturating_sub(1);
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .update_expression("SET #r = :next")
            .expression_attribute_names("#r", "reconcile")
            .expression_attribute_values(":next", encode_attr(next)?);
        request = if expected == 0 {
            request
                .condition_expression("attribute_exists(account_id) AND attribute_not_exists(#r)")
        } else {
            request
                .condition_expression("attribute_exists(account_id) AND #r.version = :expected")
                .expression_attribute_values(":expected", n(expected as i64))
        };
        written(request.send().await)
    }
}
