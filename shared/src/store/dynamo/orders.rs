//! Orders on DynamoDB: put-if-absent creation and forward-only state updates.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::page::{SortOrder, account_page};
use super::{classify, decode, encode_attr, n, s, written};
use crate::clock::{Clock, SystemClock};
use crate::orders::{DisputeFact, Order, PaymentFact, RefundFact};
use crate::store::attr::to_item;
use crate::store::page::ORDERS;
use crate::store::{Applied, OrderPages, OrderStore, Page, PageRequest, StoreError};

#[derive(Debug, Clone)]
pub struct DynamoOrders {
    client: Client,
    table: String,
}

impl DynamoOrders {
    pub const PAYMENT_INTENT_INDEX: &'static str = "by_payment_intent";

    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// A conditional update whose failure is told apart: no item (Missing) or a stored
    /// state at least as new (Stale). The old item comes back atomically with the failed
    /// check, so a concurrent insert can never be mistaken for staleness.
    async fn conditional_update(
        &self,
        account_id: &str,
        session_id: &str,
        update: &str,
        condition: &str,
        names: &[(&str, &str)],
        values: Vec<(&str, AttributeValue)>,
    ) -> Result<Applied, StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("checkout_session_id", s(session_id))
            .update_expression(format!("{update}, updated_at = :updated_at"))
            .condition_expression(format!("attribute_exists(account_id) AND ({condition})"))
            .expression_attribute_values(":updated_at", n(SystemClock.now_millis()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        for (name, value) in values {
            request = request.expression_attribute_values(name, value);
        }
        for (placeholder, name) in names {
            request = request.expression_attribute_names(*placeholder, *name);
        }
        match request.send().await {
            Ok(_) => Ok(Applied::Updated),
            Err(e) => match e.as_service_error() {
                Some(failure) if failure.is_conditional_check_failed_exception() => {
                    let existed = match failure {
                        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                            c.item().is_some_and(|item| !item.is_empty())
                        }
                        _ => false,
                    };
                    Ok(if existed {
                        Applied::Stale
                    } else {
                        Applied::Missing
                    })
                }
                _ => Err(classify(e)),
            },
        }
    }
}

impl OrderPages for DynamoOrders {
    async fn order_page(
        &self,
        account_id: &str,
        request: &PageRequest,
    ) -> Result<Page<Order>, StoreError> {
        account_page(
            &self.client,
            &self.table,
            &ORDERS,
            account_id,
            request,
            SortOrder::KeyOrder,
        )
        .await
    }
}

impl OrderStore for DynamoOrders {
    async fn insert_if_absent(&self, order: &Order) -> Result<bool, StoreError> {
        let json = serde_json::to_value(order).map_err(|e| StoreError::Permanent(e.to_string()))?;
        let mut item = to_item(&json)?;
        let now = SystemClock.now_millis();
        item.insert("created_at".into(), n(now));
        item.insert("updated_at".into(), n(now));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(account_id)")
            .send()
            .await;
        written(result)
    }

    async fn get(
        &self,
        account_id: &str,
        checkout_session_id: &str,
    ) -> Result<Option<Order>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("account_id", s(account_id))
            .key("checkout_session_id", s(checkout_session_id))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item().map(decode).transpose()
    }

    async fn find_by_payment_intent(
        &self,
        account_id: &str,
        payment_intent_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(Self::PAYMENT_INTENT_INDEX)
            .key_condition_expression("payment_intent_id = :pi")
            .expression_attribute_values(":pi", s(payment_intent_id))
            .send()
            .await
            .map_err(classify)?;
        // Tenancy: an index hit under another account is not this account's order.
        Ok(output.items().iter().find_map(|item| {
            let account = item.get("account_id").and_then(|a| a.as_s().ok())?;
            (account == account_id)
                .then(|| {
                    item.get("checkout_session_id")
                        .and_then(|s| s.as_s().ok())
                        .cloned()
                })
                .flatten()
        }))
    }

    async fn list(&self, account_id: &str, limit: usize) -> Result<Vec<Order>, StoreError> {
        let page = self
            .order_page(account_id, &PageRequest::first(limit))
            .await?;
        Ok(page.items)
    }

    async fn apply_payment(
        &self,
        account_id: &str,
        session: &str,
        fact: &PaymentFact,
    ) -> Result<Applied, StoreError> {
        self.conditional_update(
            account_id,
            session,
            "SET payment = :fact",
            "attribute_not_exists(payment) OR payment.ordering_key < :key",
            &[],
            vec![
                (":fact", encode_attr(fact)?),
                (":key", n(fact.ordering_key)),
            ],
        )
        .await
    }

    async fn apply_refund(
        &self,
        account_id: &str,
        session: &str,
        fact: &RefundFact,
    ) -> Result<Applied, StoreError> {
        self.conditional_update(
            account_id,
            session,
            "SET refund = :fact",
            "attribute_not_exists(refund) OR refund.amount_refunded < :amount",
            &[],
            vec![
                (":fact", encode_attr(fact)?),
                (":amount", n(fact.amount_refunded)),
            ],
        )
        .await
    }

    async fn apply_dispute(
        &self,
        account_id: &str,
        session: &str,
        fact: &DisputeFact,
    ) -> Result<Applied, StoreError> {
        self.conditional_update(
            account_id,
            session,
            "SET disputes.#dispute = :fact",
            "attribute_not_exists(disputes.#dispute) OR disputes.#dispute.ordering_key < :key",
            &[("#dispute", fact.dispute_id.as_str())],
            vec![
                (":fact", encode_attr(fact)?),
                (":key", n(fact.ordering_key)),
            ],
        )
        .await
    }
}
