//! One page of a query or scan, with the cursor of where it ended.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{classify, decode, s};
use crate::store::StoreError;
use crate::store::page::{KeySchema, Page, PageRequest, Position};

pub(super) type Item = HashMap<String, AttributeValue>;

/// The items of one call and its `LastEvaluatedKey`.
pub(super) type Fetched = (Vec<Item>, Option<Item>);

/// Reads the page `request` asks for. `fetch(start, limit)` makes one query or scan call.
/// It asks for one item more than the page holds: a page that ends the listing says so,
/// instead of handing out a cursor to an empty page as a bare `LastEvaluatedKey` would.
/// Calls repeat while DynamoDB stops early (its 1 MB per call), so every page but the
/// last is full.
async fn read_page<F, Fut>(
    schema: &KeySchema,
    request: &PageRequest,
    account: Option<&str>,
    mut fetch: F,
) -> Result<Page<Item>, StoreError>
where
    F: FnMut(Option<Item>, i32) -> Fut,
    Fut: Future<Output = Result<Fetched, StoreError>>,
{
    let mut start = request
        .after
        .as_ref()
        .map(|cursor| schema.resume_after(cursor, account))
        .transpose()?
        .map(|position| start_key(schema, &position));
    let size = request.clamped_size();
    let mut items = Vec::new();
    loop {
        let wanted = (size + 1 - items.len()) as i32;
        let (got, last_evaluated) = fetch(start, wanted).await?;
        items.extend(got);
        start = last_evaluated;
        if items.len() > size || start.is_none() {
            break;
        }
    }
    if items.len() <= size {
        return Ok(Page { items, next: None });
    }
    items.truncate(size);
    let last = items
        .last()
        .map(|item| position_of(schema, item))
        .transpose()?;
    Ok(Page {
        next: last.map(|position| schema.cursor(&position)),
        items,
    })
}

/// Which way an account's items come: by their sort key, or the other way round.
#[derive(Clone, Copy)]
pub(super) enum SortOrder {
    KeyOrder,
    /// Newest first, where the sort key grows with time (import keys start with one).
    Reversed,
}

/// One page of one account's items in a table keyed by account (the schema's sort prefix,
/// if any, picks the listing's items out of others in the same partition).
pub(super) async fn account_page<T: serde::de::DeserializeOwned>(
    client: &Client,
    table: &str,
    schema: &KeySchema,
    account_id: &str,
    request: &PageRequest,
    order: SortOrder,
) -> Result<Page<T>, StoreError> {
    let condition = match schema.sort.filter(|_| !schema.sort_prefix.is_empty()) {
        Some(sort) => format!("{} = :a AND begins_with({sort}, :p)", schema.partition),
        None => format!("{} = :a", schema.partition),
    };
    let page = read_page(schema, request, Some(account_id), |start, limit| {
        let mut query = client
            .query()
            .table_name(table)
            .key_condition_expression(&condition)
            .expression_attribute_values(":a", s(account_id))
            .scan_index_forward(matches!(order, SortOrder::KeyOrder))
            .set_exclusive_start_key(start)
            .limit(limit);
        if !schema.sort_prefix.is_empty() {
            query = query.expression_attribute_values(":p", s(schema.sort_prefix));
        }
        async move {
            let output = query.send().await.map_err(classify)?;
            Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
        }
    })
    .await?;
    decode_page(page)
}

/// One page of a whole table, in the table's own order (a scan).
pub(super) async fn table_page<T: serde::de::DeserializeOwned>(
    client: &Client,
    table: &str,
    schema: &KeySchema,
    request: &PageRequest,
) -> Result<Page<T>, StoreError> {
    let page = read_page(schema, request, None, |start, limit| {
        let scan = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .limit(limit);
        async move {
            let output = scan.send().await.map_err(classify)?;
            Ok((output.items.unwrap_or_default(), output.last_evaluated_key))
        }
    })
    .await?;
    decode_page(page)
}

fn decode_page<T: serde::de::DeserializeOwned>(page: Page<Item>) -> Result<Page<T>, StoreError> {
    Ok(Page {
        items: page.items.iter().map(decode).collect::<Result<_, _>>()?,
        next: page.next,
    })
}

fn start_key(schema: &KeySchema, position: &Position) -> Item {
    let mut key = HashMap::from([(schema.partition.to_string(), s(&position.partition))]);
    if let (Some(name), Some(value)) = (schema.sort, &position.sort) {
        key.insert(name.to_string(), s(value));
    }
    key
}

fn position_of(schema: &KeySchema, item: &Item) -> Result<Position, StoreError> {
    let text = |name: &str| {
        item.get(name)
            .and_then(|v| v.as_s().ok())
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("an item without its key {name}")))
    };
    Ok(Position {
        partition: text(schema.partition)?,
        sort: schema.sort.map(text).transpose()?,
    })
}
