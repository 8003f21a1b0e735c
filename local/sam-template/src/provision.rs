//! Creates the template's tables in DynamoDB Local and its bucket in the S3 emulator, with
//! the keys, indexes, streams, TTL and versioning `template.yaml` gives them. Existing ones
//! are kept, so the local stack can be restarted over its data.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use serde_json::Value;

use crate::template::{Bucket, EventRule, Queue, Table};

fn text<'a>(value: &'a Value, field: &str) -> Result<&'a str, String> {
    value
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{field} is missing in {value}"))
}

fn key_schema(value: &Value) -> Result<Vec<KeySchemaElement>, String> {
    value
        .as_array()
        .ok_or("KeySchema is not a list")?
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(text(k, "AttributeName")?)
                .key_type(KeyType::from(text(k, "KeyType")?))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// True when the table was created, false when it already existed.
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table: &Table,
) -> Result<bool, String> {
    let p = &table.properties;
    let fail = |e: String| format!("table {} ({}): {e}", table.logical_id, table.name);
    if p.get("BillingMode").and_then(Value::as_str) != Some("PAY_PER_REQUEST") {
        return Err(fail(
            "only PAY_PER_REQUEST tables are created locally".into(),
        ));
    }
    let mut request = client
        .create_table()
        .table_name(&table.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(&p["KeySchema"]).map_err(fail)?));
    for attribute in p["AttributeDefinitions"].as_array().into_iter().flatten() {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(text(attribute, "AttributeName").map_err(fail)?)
                .attribute_type(ScalarAttributeType::from(
                    text(attribute, "AttributeType").map_err(fail)?,
                ))
                .build()
                .map_err(|e| fail(e.to_string()))?,
        );
    }
    let mut indexes = Vec::new();
    for index in p["GlobalSecondaryIndexes"].as_array().into_iter().flatten() {
        let projection = &index["Projection"];
        let mut built = Projection::builder().projection_type(ProjectionType::from(
            projection
                .get("ProjectionType")
                .and_then(Value::as_str)
                .unwrap_or("ALL"),
        ));
        for attribute in projection["NonKeyAttributes"]
            .as_array()
            .into_iter()
            .flatten()
        {
            built = built.non_key_attributes(attribute.as_str().unwrap_or_default());
        }
        let index = GlobalSecondaryIndex::builder()
            .index_name(text(index, "IndexName").map_err(fail)?)
            .set_key_schema(Some(key_schema(&index["KeySchema"]).map_err(fail)?))
            .projection(built.build())
            .build()
            .map_err(|e| fail(e.to_string()))?;
        indexes.push(index.clone());
        request = request.global_secondary_indexes(index);
    }
    if let Some(view) = p
        .pointer("/StreamSpecification/StreamViewType")
        .and_then(Value::as_str)
    {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .map_err(|e| fail(e.to_string()))?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            // Kept, with the indexes the template has gained since it was created added.
            add_missing_indexes(client, &table.name, indexes, &p["AttributeDefinitions"])
                .await
                .map_err(fail)?;
            return Ok(false);
        }
        Err(e) => {
            return Err(fail(format!(
                "{}",
                aws_sdk_dynamodb::error::DisplayErrorContext(e)
            )));
        }
    }
    let ttl = &p["TimeToLiveSpecification"];
    if ttl.get("Enabled").and_then(Value::as_bool) == Some(true) {
        client
            .update_time_to_live()
            .table_name(&table.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(text(ttl, "AttributeName").map_err(fail)?)
                    .enabled(true)
                    .build()
                    .map_err(|e| fail(e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| {
                fail(format!(
                    "{}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(e)
                ))
            })?;
    }
    Ok(true)
}

/// Adds to an existing table the template's indexes it lacks (one per `UpdateTable`, as
/// DynamoDB asks); indexes the template dropped stay.
async fn add_missing_indexes(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    wanted: Vec<GlobalSecondaryIndex>,
    attributes: &Value,
) -> Result<(), String> {
    use aws_sdk_dynamodb::types::{CreateGlobalSecondaryIndexAction, GlobalSecondaryIndexUpdate};
    let described = client
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    let present: Vec<String> = described
        .table()
        .map(|t| t.global_secondary_indexes())
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.index_name().map(str::to_string))
        .collect();
    for index in wanted {
        if present.iter().any(|p| p == index.index_name()) {
            continue;
        }
        let create = CreateGlobalSecondaryIndexAction::builder()
            .index_name(index.index_name())
            .set_key_schema(Some(index.key_schema().to_vec()))
            .set_projection(index.projection().cloned())
            .build()
            .map_err(|e| e.to_string())?;
        let mut request = client
            .update_table()
            .table_name(table)
            .global_secondary_index_updates(
                GlobalSecondaryIndexUpdate::builder().create(create).build(),
            );
        for attribute in attributes.as_array().into_iter().flatten() {
            request = request.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(text(attribute, "AttributeName")?)
                    .attribute_type(ScalarAttributeType::from(text(attribute, "AttributeType")?))
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        request
            .send()
            .await
            .map_err(|e| aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())?;
    }
    Ok(())
}

/// Creates the bucket (versioned when the template says so); true when it was new.
pub async fn create_bucket(client: &aws_sdk_s3::Client, spec: &Bucket) -> Result<bool, String> {
    let bucket = spec.name.as_str();
    let created = match client.create_bucket().bucket(bucket).send().await {
        Ok(_) => true,
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists()
            }) =>
        {
            false
        }
        Err(e) => {
            return Err(format!(
                "bucket {bucket}: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            ));
        }
    };
    if !spec.versioned {
        return Ok(created);
    }
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| {
            format!(
                "bucket {bucket} versioning: {}",
                aws_sdk_s3::error::DisplayErrorContext(e)
            )
        })?;
    Ok(created)
}

/// Creates the queue in the SQS emulator (kept when it exists, as SQS's `CreateQueue` does
/// for the same attributes); returns its URL there.
pub async fn create_queue(client: &aws_sdk_sqs::Client, queue: &Queue) -> Result<String, String> {
    let output = client
        .create_queue()
        .queue_name(&queue.name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            queue.visibility_timeout_seconds.to_string(),
        )
        .send()
        .await
        .map_err(|e| {
            format!(
                "queue {} ({}): {}",
                queue.logical_id,
                queue.name,
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        })?;
    output
        .queue_url()
        .map(str::to_string)
        .ok_or_else(|| format!("queue {}: the emulator gave no URL", queue.name))
}

/// Creates the bus `name` in the emulator; one already there is kept.
pub async fn create_event_bus(
    client: &aws_sdk_eventbridge::Client,
    name: &str,
) -> Result<(), String> {
    match client.create_event_bus().name(name).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error().and_then(|s| s.meta().code())
                == Some("ResourceAlreadyExistsException") =>
        {
            Ok(())
        }
        Err(e) => Err(format!(
            "event bus {name}: {}",
            aws_sdk_eventbridge::error::DisplayErrorContext(e)
        )),
    }
}

/// Puts `rule` on its bus with its queue targets (`queue_arn(name)` gives a queue's ARN in
/// the emulator); other targets are left out, and the caller says so.
pub async fn create_rule(
    client: &aws_sdk_eventbridge::Client,
    rule: &EventRule,
    queue_arn: impl Fn(&str) -> String,
) -> Result<(), String> {
    let fail = |e: String| format!("event rule {} ({}): {e}", rule.logical_id, rule.name);
    client
        .put_rule()
        .name(&rule.name)
        .event_bus_name(&rule.bus)
        .event_pattern(rule.pattern.to_string())
        .send()
        .await
        .map_err(|e| fail(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string()))?;
    if rule.queue_targets.is_empty() {
        return Ok(());
    }
    let targets = rule
        .queue_targets
        .iter()
        .map(|(id, queue)| {
            aws_sdk_eventbridge::types::Target::builder()
                .id(id)
                .arn(queue_arn(queue))
                .build()
                .map_err(|e| fail(e.to_string()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let output = client
        .put_targets()
        .rule(&rule.name)
        .event_bus_name(&rule.bus)
        .set_targets(Some(targets))
        .send()
        .await
        .map_err(|e| fail(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string()))?;
    match output.failed_entry_count() {
        0 => Ok(()),
        n => Err(fail(format!("{n} targets refused"))),
    }
}
