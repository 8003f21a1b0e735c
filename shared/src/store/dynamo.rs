//! DynamoDB adapters of the store traits. Every write that must happen once is a
//! conditional write; state updates carry their ordering rule in the condition.

use std::collections::HashMap;
use std::fmt::Debug;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::attr::{from_item, to_attr, to_item};
use super::{Applied, Claim, IdempotencyStore, OrderStore, StoreError};
use crate::clock::{Clock, SystemClock};
use crate::config::DynamoSettings;
use crate::orders::{DisputeFact, Order, PaymentFact, RefundFact};

/// Builds the client once per cold start. The endpoint override is for DynamoDB Local.
pub async fn client(settings: &DynamoSettings) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = &settings.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    Client::new(&loader.load().await)
}

/// Opens the connection during init (one cheap call), so the first invocation does not pay
/// for the TLS handshake.
pub async fn warm_up(client: &Client, table: &str) {
    if let Err(e) = client.describe_table().table_name(table).send().await {
        tracing::warn!(table, error = %classify(e), "dynamodb warm-up failed; the first call will connect");
    }
}

/// Sorts SDK errors into "try again later" and "will never work".
pub fn classify<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + Debug,
    R: Debug,
{
    match &error {
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or("Unknown");
            let message = service.err().message().unwrap_or("").to_string();
            let transient = matches!(
                code,
                "ProvisionedThroughputExceededException"
                    | "ThrottlingException"
                    | "RequestLimitExceeded"
                    | "InternalServerError"
                    | "ServiceUnavailable"
                    | "TransactionConflictException"
                    | "LimitExceededException"
            );
            let text = format!("{code}: {message}");
            if transient {
                StoreError::Transient(text)
            } else {
                StoreError::Permanent(text)
            }
        }
        SdkError::ConstructionFailure(_) => StoreError::Permanent(format!("{error:?}")),
        _ => StoreError::Transient(error.to_string()),
    }
}

fn decode<T: DeserializeOwned>(item: &HashMap<String, AttributeValue>) -> Result<T, StoreError> {
    serde_json::from_value(from_item(item)?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn encode_attr<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    let json = serde_json::to_value(value).map_err(|e| StoreError::Permanent(e.to_string()))?;
    to_attr(&json).ok_or_else(|| StoreError::Permanent("cannot store a null".into()))
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

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
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(classify(e)),
        }
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
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("account_id = :a")
            .expression_attribute_values(":a", s(account_id))
            .limit(limit.clamp(1, 1000) as i32)
            .send()
            .await
            .map_err(classify)?;
        output.items().iter().map(decode).collect()
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

#[derive(Debug, Clone)]
pub struct DynamoIdempotency {
    client: Client,
    table: String,
    ttl_seconds: i64,
    in_progress_seconds: i64,
}

const IN_PROGRESS: &str = "INPROGRESS";
const COMPLETED: &str = "COMPLETED";

impl DynamoIdempotency {
    pub fn new(
        client: Client,
        table: impl Into<String>,
        ttl_seconds: i64,
        in_progress_seconds: i64,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            ttl_seconds,
            in_progress_seconds,
        }
    }
}

impl IdempotencyStore for DynamoIdempotency {
    async fn claim(
        &self,
        key: &str,
        payload_hash: Option<&str>,
        now_millis: i64,
    ) -> Result<Claim, StoreError> {
        let now_seconds = now_millis.div_euclid(1000);
        let mut request = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("id", s(key))
            .item("status", s(IN_PROGRESS))
            .item("expiration", n(now_seconds + self.ttl_seconds))
            .item("in_progress_expiry", n(now_millis + self.in_progress_seconds * 1000))
            // TTL deletion lags by up to days, so an expired record is treated as absent.
            .condition_expression(
                "attribute_not_exists(id) OR expiration < :now_s OR (#status = :in_progress AND in_progress_expiry < :now_ms)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":now_s", n(now_seconds))
            .expression_attribute_values(":now_ms", n(now_millis))
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if let Some(hash) = payload_hash {
            request = request.item("payload_hash", s(hash));
        }
        let error = match request.send().await {
            Ok(_) => return Ok(Claim::Acquired),
            Err(e) => e,
        };
        let existing = match error.as_service_error() {
            Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(c)) => {
                c.item().cloned().unwrap_or_default()
            }
            _ => return Err(classify(error)),
        };
        let text = |name: &str| existing.get(name).and_then(|v| v.as_s().ok()).cloned();
        if let Some(hash) = payload_hash {
            if text("payload_hash").as_deref() != Some(hash) {
                return Ok(Claim::PayloadMismatch);
            }
        }
        match (text("status").as_deref(), text("response")) {
            (Some(COMPLETED), Some(response)) => Ok(Claim::Completed(response)),
            _ => Ok(Claim::InProgress),
        }
    }

    async fn complete(&self, key: &str, response: &str, now_millis: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("id", s(key))
            .update_expression(
                "SET #status = :completed, #response = :response, expiration = :expiration",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#response", "response")
            .expression_attribute_values(":completed", s(COMPLETED))
            .expression_attribute_values(":response", s(response))
            .expression_attribute_values(
                ":expiration",
                n(now_millis.div_euclid(1000) + self.ttl_seconds),
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(key))
            .condition_expression("#status = :in_progress")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":in_progress", s(IN_PROGRESS))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Completed meanwhile, or already gone: nothing to release.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(classify(e)),
        }
    }
}
