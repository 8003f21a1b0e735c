//! DynamoDB adapters of the store traits. Every write that must happen once is a
//! conditional write; state updates carry their ordering rule in the condition.

mod agreements;
mod catalog;
mod dead_letters;
mod holds;
mod idempotency;
mod merchants;
mod orders;
mod page;
mod reconcile;
mod skus;

use std::collections::HashMap;
use std::fmt::Debug;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use agreements::DynamoAgreements;
pub use catalog::DynamoCatalog;
pub use dead_letters::DynamoDeadLetters;
pub use holds::{OPEN_HOLDS_INDEX, TRANSACTION_ITEMS};
pub use idempotency::DynamoIdempotency;
pub use merchants::DynamoMerchants;
pub use orders::DynamoOrders;
pub use reconcile::DynamoReconcileProgress;

use super::StoreError;
use super::attr::{from_item, to_attr};
use crate::config::DynamoSettings;

/// Builds the client once per cold start. The endpoint override is for DynamoDB Local.
/// Every call has an attempt and an operation timeout (see [`DynamoSettings`]): without
/// them a stalled connection would wait for the function's own timeout.
pub async fn client(settings: &DynamoSettings) -> Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(std::time::Duration::from_secs(1).min(settings.attempt_timeout))
        .operation_attempt_timeout(settings.attempt_timeout)
        .operation_timeout(settings.operation_timeout)
        .build();
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts);
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

/// A conditional write's outcome: true when it was made, false when its condition did not
/// hold; any other failure sorted by [`classify`].
pub(super) fn written<O, E, R>(result: Result<O, SdkError<E, R>>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + Debug,
    R: Debug,
{
    match result {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error().and_then(ProvideErrorMetadata::code)
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(false)
        }
        Err(e) => Err(classify(e)),
    }
}

pub(super) fn decode<T: DeserializeOwned>(
    item: &HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    serde_json::from_value(from_item(item)?).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(super) fn encode_attr<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    let json = serde_json::to_value(value).map_err(|e| StoreError::Permanent(e.to_string()))?;
    to_attr(&json).ok_or_else(|| StoreError::Permanent("cannot store a null".into()))
}

pub(super) fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}
