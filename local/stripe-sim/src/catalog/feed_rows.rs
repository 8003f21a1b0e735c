//! Reading a feed file: decoding, the header and its key column, and the checks each row
//! must pass. The result says what to apply and which rows fail; nothing is applied here.

use super::{delimited, feed_rules};
use crate::SimConfig;
use crate::state::catalog::Catalog;
use crate::state::imports::{Content, Failure, Feed};
use serde_json::{Map, Value};
use std::collections::HashSet;

const AVAILABILITY: &[&str] = &["in_stock", "out_of_stock", "preorder", "backorder"];

pub(super) struct RowError {
    pub(super) row: u64,
    pub(super) id: String,
    pub(super) problems: Vec<(String, String)>,
    pub(super) fields: Vec<String>,
}

pub(super) enum Op {
    Upsert(String, Map<String, Value>),
    Delete(String),
}

pub(super) struct Processed {
    pub(super) header: Vec<String>,
    pub(super) delimiter: u8,
    pub(super) rows_processed: u64,
    pub(super) ops: Vec<Op>,
    /// Every id named by a row of the file, accepted or not (`replace` keeps them).
    pub(super) present: HashSet<String>,
    pub(super) errors: Vec<RowError>,
    pub(super) skipped_duplicates: u64,
}

fn valid_price(value: &str) -> bool {
    let Some((amount, currency)) = value.split_once(' ') else {
        return false;
    };
    let (whole, fraction) = match amount.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (amount, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(whole)
        && fraction.is_none_or(digits)
        && currency.len() == 3
        && currency.bytes().all(|b| b.is_ascii_alphabetic())
}

fn validate_row(
    feed: Feed,
    row: &Map<String, Value>,
    catalog: &Catalog,
    config: &SimConfig,
) -> Vec<(String, String)> {
    let get = |column: &str| row.get(column).and_then(Value::as_str).unwrap_or("");
    let mut problems = Vec::new();
    for column in ["price", "sale_price"] {
        let value = get(column);
        if !value.is_empty() && !valid_price(value) {
            problems.push((
                column.to_string(),
                format!(
                    "Invalid {column} '{value}': expected an amount and an ISO 4217 currency code, e.g. `15.00 USD`."
                ),
            ));
        }
    }
    let availability = get("availability");
    if !availability.is_empty() && !AVAILABILITY.contains(&availability) {
        problems.push((
            "availability".into(),
            format!(
                "Invalid availability '{availability}': must be one of {}.",
                AVAILABILITY.join(", ")
            ),
        ));
    }
    let quantity = get("inventory_quantity");
    if !quantity.is_empty() && quantity.parse::<u64>().is_err() {
        problems.push((
            "inventory_quantity".into(),
            format!(
                "Invalid inventory_quantity '{quantity}': must be an integer greater than or equal to 0."
            ),
        ));
    }
    match feed {
        Feed::Product => problems.extend(feed_rules::shipping(get("shipping"))),
        Feed::Promotion => feed_rules::promotion(get, &mut problems),
        Feed::Inventory | Feed::Pricing => {}
    }
    let id = get("id");
    if matches!(feed, Feed::Inventory | Feed::Pricing)
        && config.inventory_requires_product
        && !catalog.products.contains_key(id)
    {
        problems.push((
            "id".into(),
            format!(
                "No product with id '{id}' exists in the catalog: send it in a product feed first."
            ),
        ));
    }
    problems
}

pub(super) fn process(
    content: &Content,
    feed: Feed,
    catalog: &Catalog,
    config: &SimConfig,
) -> Result<Processed, Failure> {
    let text = std::str::from_utf8(&content.bytes).map_err(|e| {
        Failure::invalid_file(format!(
            "The file is not valid UTF-8 (invalid byte at offset {}).",
            e.valid_up_to()
        ))
    })?;
    let text = delimited::strip_bom(text);
    if text.trim().is_empty() {
        return Err(Failure::invalid_file("The file is empty."));
    }
    let delimiter = content.delimiter.unwrap_or_else(|| delimited::sniff(text));
    let records = delimited::parse(text, delimiter).map_err(Failure::invalid_file)?;
    let mut records = records.into_iter();
    let header: Vec<String> = records
        .next()
        .map(|r| r.fields.into_iter().map(|f| f.trim().to_string()).collect())
        .unwrap_or_default();
    let key = feed.key_column();
    let Some(key_index) = header.iter().position(|h| h == key) else {
        return Err(Failure::invalid_file(format!(
            "The file has no `{key}` column (header: {}).",
            header.join(if delimiter == b'\t' { "\\t" } else { "," })
        )));
    };
    let mut processed = Processed {
        header: header.clone(),
        delimiter,
        rows_processed: 0,
        ops: Vec::new(),
        present: HashSet::new(),
        errors: Vec::new(),
        skipped_duplicates: 0,
    };
    let mut seen = HashSet::new();
    for record in records {
        processed.rows_processed += 1;
        let id = record
            .fields
            .get(key_index)
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        let fail = |problems: Vec<(String, String)>| RowError {
            row: record.row,
            id: id.clone(),
            problems,
            fields: record.fields.clone(),
        };
        if record.fields.len() != header.len() {
            processed.errors.push(fail(vec![(
                String::new(),
                format!(
                    "The row has {} fields but the header has {}.",
                    record.fields.len(),
                    header.len()
                ),
            )]));
            if !id.is_empty() {
                processed.present.insert(id);
            }
            continue;
        }
        if id.is_empty() {
            processed.errors.push(fail(vec![(
                key.to_string(),
                format!("Missing required field `{key}`."),
            )]));
            continue;
        }
        processed.present.insert(id.clone());
        if !seen.insert(id.clone()) {
            processed.skipped_duplicates += 1;
            continue;
        }
        let mut row = Map::new();
        for (column, value) in header.iter().zip(&record.fields) {
            if column != "delete" {
                row.insert(column.clone(), Value::String(value.clone()));
            }
        }
        let delete = header
            .iter()
            .position(|h| h == "delete")
            .and_then(|i| record.fields.get(i))
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        match delete.as_str() {
            "true" => {
                processed.ops.push(Op::Delete(id));
                continue;
            }
            "" | "false" => {}
            other => {
                processed.errors.push(fail(vec![(
                    "delete".into(),
                    format!("Invalid delete '{other}': must be true or false."),
                )]));
                continue;
            }
        }
        let problems = validate_row(feed, &row, catalog, config);
        if problems.is_empty() {
            processed.ops.push(Op::Upsert(id, row));
        } else {
            processed.errors.push(fail(problems));
        }
    }
    Ok(processed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;

    #[test]
    fn prices_are_amount_space_currency() {
        assert!(valid_price("15.00 USD"));
        assert!(valid_price("15 eur"));
        for bad in [
            "15.00",
            "USD 15.00",
            "15.00  USD",
            "1.5.0 USD",
            ".5 USD",
            "15.00 US",
        ] {
            assert!(!valid_price(bad), "{bad}");
        }
    }

    #[test]
    fn unreadable_files_fail() {
        let catalog = Catalog::default();
        let config = SimConfig::default();
        let check = |bytes: &[u8], feed| {
            process(
                &Content::new(Bytes::from(bytes.to_vec()), None),
                feed,
                &catalog,
                &config,
            )
            .err()
            .map(|f| f.code)
        };
        assert_eq!(
            check(b"id,title\n1,\xff\n", Feed::Product).as_deref(),
            Some("invalid_file")
        );
        assert_eq!(
            check(b"sku,title\n1,a\n", Feed::Product).as_deref(),
            Some("invalid_file")
        );
        assert_eq!(check(b"", Feed::Product).as_deref(), Some("invalid_file"));
        assert_eq!(
            check(b"id\n1\n", Feed::Promotion).as_deref(),
            Some("invalid_file")
        );
        assert_eq!(check(b"\xef\xbb\xbfid\tx\n1\t2\n", Feed::Product), None);
    }
}
