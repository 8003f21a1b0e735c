//! Capacity metering: the proxy asks DynamoDB for the capacity each forwarded request
//! consumed (`ReturnConsumedCapacity: TOTAL`, added when the caller did not ask) and sums
//! the `ConsumedCapacity` of the answers, by operation, in thousandths of a unit. DynamoDB
//! Local computes it as DynamoDB does for on-demand tables: a read unit per 4 KB read
//! strongly (half for eventually consistent), a write unit per 1 KB written, twice that
//! in transactions. One difference: a write refused by its condition costs a unit on AWS,
//! but its error answer carries no capacity, so it is not counted here.

use serde_json::Value;

/// Operations that accept `ReturnConsumedCapacity`.
const METERED: &[&str] = &[
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "TransactGetItems",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactWriteItems",
];

/// Whether DynamoDB reports the operation's capacity (when asked): only such answers are
/// read for it, not, say, the S3 objects the proxy forwards in front of the S3 emulator.
pub fn is_metered(operation: &str) -> bool {
    METERED.contains(&operation)
}

/// Whether the operation reads (its units are read units) or writes.
pub fn is_read(operation: &str) -> bool {
    matches!(
        operation,
        "GetItem" | "BatchGetItem" | "Query" | "Scan" | "TransactGetItems"
    )
}

/// The request body with `ReturnConsumedCapacity: TOTAL` added, when the operation takes
/// it and the caller did not set it; otherwise None (forward the body as it is).
pub fn ask_for_capacity(operation: &str, body: &[u8]) -> Option<Vec<u8>> {
    if !is_metered(operation) {
        return None;
    }
    let mut request: Value = serde_json::from_slice(body).ok()?;
    let fields = request.as_object_mut()?;
    if fields.contains_key("ReturnConsumedCapacity") {
        return None;
    }
    fields.insert("ReturnConsumedCapacity".into(), Value::from("TOTAL"));
    serde_json::to_vec(&request).ok()
}

/// The units an answer says were consumed, in thousandths (0 when it says none).
pub fn consumed_milli_units(answer: &[u8]) -> u64 {
    let Ok(answer) = serde_json::from_slice::<Value>(answer) else {
        return 0;
    };
    let units = |c: &Value| {
        c.get("CapacityUnits")
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    let total = match answer.get("ConsumedCapacity") {
        Some(Value::Array(list)) => list.iter().map(units).sum(),
        Some(one @ Value::Object(_)) => units(one),
        _ => 0.0,
    };
    (total * 1000.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_asked_for_once_and_only_where_it_is_accepted() {
        let asked = ask_for_capacity("PutItem", br#"{"TableName":"t"}"#).unwrap();
        let asked: Value = serde_json::from_slice(&asked).unwrap();
        assert_eq!(asked["ReturnConsumedCapacity"], "TOTAL");
        assert_eq!(asked["TableName"], "t");
        assert!(ask_for_capacity("PutItem", br#"{"ReturnConsumedCapacity":"NONE"}"#).is_none());
        assert!(ask_for_capacity("DescribeTable", br#"{"TableName":"t"}"#).is_none());
        assert!(ask_for_capacity("PutItem", b"not json").is_none());
    }

    #[test]
    fn one_or_many_consumed_capacities_are_summed() {
        assert_eq!(
            consumed_milli_units(br#"{"ConsumedCapacity":{"TableName":"t","CapacityUnits":0.5}}"#),
            500
        );
        assert_eq!(
            consumed_milli_units(
                br#"{"ConsumedCapacity":[{"CapacityUnits":2.0},{"CapacityUnits":3.0}]}"#
            ),
            5000
        );
        assert_eq!(consumed_milli_units(br#"{"Item":{}}"#), 0);
        assert_eq!(consumed_milli_units(b"<html>"), 0);
        assert!(is_read("Query") && !is_read("BatchWriteItem"));
    }
}
