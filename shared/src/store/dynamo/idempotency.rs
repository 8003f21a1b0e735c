//! Idempotency records on DynamoDB (the AWS Lambda Powertools design).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;

use super::{classify, n, s, written};
use crate::store::{Claim, IdempotencyStore, StoreError};

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
        // Completed meanwhile, or already gone: nothing to release.
        written(result).map(|_| ())
    }
}
