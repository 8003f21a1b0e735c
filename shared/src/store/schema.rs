//! The tables as `template.yaml` declares them, for DynamoDB Local in tests and the offline
//! stack. A test checks that the template and these specs agree.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
};

use super::StoreError;
use super::dynamo::classify;

#[derive(Debug, Clone, Copy)]
pub struct IndexSpec {
    pub name: &'static str,
    pub partition_key: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct TableSpec {
    /// The template's logical id.
    pub logical_id: &'static str,
    pub partition_key: &'static str,
    pub sort_key: Option<&'static str>,
    /// Keys-only global secondary indexes.
    pub indexes: &'static [IndexSpec],
    pub ttl_attribute: Option<&'static str>,
    pub stream: bool,
}

pub const ORDERS: TableSpec = TableSpec {
    logical_id: "OrdersTable",
    partition_key: "account_id",
    sort_key: Some("checkout_session_id"),
    indexes: &[IndexSpec {
        name: "by_payment_intent",
        partition_key: "payment_intent_id",
    }],
    ttl_attribute: None,
    stream: true,
};

pub const IDEMPOTENCY: TableSpec = TableSpec {
    logical_id: "IdempotencyTable",
    partition_key: "id",
    sort_key: None,
    indexes: &[],
    ttl_attribute: Some("expiration"),
    stream: false,
};

pub const MERCHANTS: TableSpec = TableSpec {
    logical_id: "MerchantsTable",
    partition_key: "account_id",
    sort_key: None,
    indexes: &[],
    ttl_attribute: None,
    stream: false,
};

pub const CATALOG: TableSpec = TableSpec {
    logical_id: "CatalogTable",
    partition_key: "account_id",
    sort_key: Some("sk"),
    indexes: &[IndexSpec {
        name: "active_feeds",
        partition_key: "active",
    }],
    ttl_attribute: None,
    stream: false,
};

pub const AGREEMENTS: TableSpec = TableSpec {
    logical_id: "AgreementsTable",
    partition_key: "account_id",
    sort_key: Some("agreement_id"),
    indexes: &[],
    ttl_attribute: None,
    stream: false,
};

pub const ALL: &[TableSpec] = &[ORDERS, IDEMPOTENCY, MERCHANTS, CATALOG, AGREEMENTS];

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| StoreError::Permanent(e.to_string()))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| StoreError::Permanent(e.to_string()))
}

/// Creates `table_name` with `spec`'s keys; an existing table is fine.
pub async fn create_table(
    client: &Client,
    spec: &TableSpec,
    table_name: &str,
) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(spec.partition_key, KeyType::Hash)?)
        .attribute_definitions(string_attribute(spec.partition_key)?);
    if let Some(sort_key) = spec.sort_key {
        request = request
            .key_schema(key(sort_key, KeyType::Range)?)
            .attribute_definitions(string_attribute(sort_key)?);
    }
    for index in spec.indexes {
        request = request
            .attribute_definitions(string_attribute(index.partition_key)?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(index.name)
                    .key_schema(key(index.partition_key, KeyType::Hash)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::KeysOnly)
                            .build(),
                    )
                    .build()
                    .map_err(|e| StoreError::Permanent(e.to_string()))?,
            );
    }
    if spec.stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| StoreError::Permanent(e.to_string()))?,
        );
    }
    match request.send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(classify(e)),
    }
}
