//! One page of a query or scan, with the cursor of where it ended.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::types::AttributeValue;

use super::{decode, s};
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
pub(super) async fn read_page<F, Fut>(
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

pub(super) fn decode_page<T: serde::de::DeserializeOwned>(
    page: Page<Item>,
) -> Result<Page<T>, StoreError> {
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
