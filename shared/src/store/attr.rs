//! JSON ⇄ DynamoDB attribute values, so records are plain serde types and read naturally in
//! the console and the table's stream. Nulls are dropped (an absent attribute reads as None),
//! which also keeps sparse index keys such as `payment_intent_id` valid.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};

use super::StoreError;

pub fn to_item(value: &Value) -> Result<HashMap<String, AttributeValue>, StoreError> {
    match to_attr(value) {
        Some(AttributeValue::M(map)) => Ok(map),
        _ => Err(StoreError::Permanent(
            "a record must serialise to a JSON object".into(),
        )),
    }
}

pub fn to_attr(value: &Value) -> Option<AttributeValue> {
    Some(match value {
        Value::Null => return None,
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().filter_map(to_attr).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .filter_map(|(k, v)| to_attr(v).map(|a| (k.clone(), a)))
                .collect(),
        ),
    })
}

pub fn from_item(item: &HashMap<String, AttributeValue>) -> Result<Value, StoreError> {
    let mut map = Map::new();
    for (k, v) in item {
        map.insert(k.clone(), from_attr(v)?);
    }
    Ok(Value::Object(map))
}

pub fn from_attr(attr: &AttributeValue) -> Result<Value, StoreError> {
    Ok(match attr {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::N(n) => Value::Number(parse_number(n)?),
        AttributeValue::L(items) => {
            Value::Array(items.iter().map(from_attr).collect::<Result<_, _>>()?)
        }
        AttributeValue::M(map) => from_item(map)?,
        other => {
            return Err(StoreError::Corrupt(format!(
                "unsupported attribute type {other:?}"
            )));
        }
    })
}

fn parse_number(n: &str) -> Result<Number, StoreError> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(i.into());
    }
    n.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .ok_or_else(|| StoreError::Corrupt(format!("not a number: {n}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_drops_nulls() {
        let value = json!({"a": 1, "b": "x", "c": [true, {"d": -2}], "e": null, "f": {}});
        let item = to_item(&value).unwrap();
        assert!(!item.contains_key("e"));
        let back = from_item(&item).unwrap();
        assert_eq!(
            back,
            json!({"a": 1, "b": "x", "c": [true, {"d": -2}], "f": {}})
        );
    }
}
