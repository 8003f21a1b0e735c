//! The events AWS hands our functions: API Gateway requests (HTTP API payload 2.0 and the
//! REST API / payload 1.0 shape), S3 `ObjectCreated` notifications and EventBridge
//! scheduled events, shaped as AWS sends them.

use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayV2httpRequest};
use base64::Engine;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn rfc3339_millis(at: time::OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    at.format(&format).unwrap_or_default()
}

fn request_id() -> String {
    format!("local-{:016x}", fastrand::u64(..))
}

/// API Gateway base64-encodes bodies that are not UTF-8 text.
fn encoded_body(body: &[u8]) -> (String, bool) {
    match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    }
}

fn lowercase_headers(headers: &[(String, String)]) -> serde_json::Map<String, Value> {
    headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
        .collect()
}

/// The HTTP API (payload 2.0) event for a request, as AWS builds it: lower-cased header
/// names, base64 for bodies that are not UTF-8 text, a fresh request id. Function URLs send
/// the same shape.
pub fn http_api_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> ApiGatewayV2httpRequest {
    let (body_text, is_base64) = encoded_body(body);
    let now_ms = (now().unix_timestamp_nanos() / 1_000_000) as i64;
    serde_json::from_value(json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": lowercase_headers(headers),
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": ""},
            "requestId": request_id(), "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "", "timeEpoch": now_ms
        },
        "body": body_text,
        "isBase64Encoded": is_base64
    }))
    .expect("a well-formed API Gateway v2 event")
}

/// The HTTP API (payload 2.0) event for an HTTP request received as `parts` and `body`.
pub fn http_api_request_from(parts: &http::request::Parts, body: &[u8]) -> ApiGatewayV2httpRequest {
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    http_api_request(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &headers,
        body,
    )
}

/// The REST API proxy event (also the HTTP API's payload 1.0) for a request: the shape
/// a function receives behind a REST API stage, with the path given without the stage.
pub fn rest_api_request(
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> ApiGatewayProxyRequest {
    let (body_text, is_base64) = encoded_body(body);
    let multi: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    let single: serde_json::Map<String, Value> =
        headers.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    serde_json::from_value(json!({
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "resourceId": "local",
            "domainName": "127.0.0.1", "domainPrefix": "local", "extendedRequestId": request_id(),
            "httpMethod": method, "path": format!("/prod{path}"), "protocol": "HTTP/1.1",
            "requestId": request_id(), "requestTime": "", "requestTimeEpoch": (now().unix_timestamp_nanos() / 1_000_000) as i64,
            "resourcePath": path, "stage": "prod",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": ""}
        },
        "body": body_text,
        "isBase64Encoded": is_base64
    }))
    .expect("a well-formed API Gateway REST event")
}

/// What S3 leaves as it is in a key; everything else is %XX, and a space is `+`.
const S3_KEY_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// S3's encoding of keys in event notifications: URL encoding with `+` for spaces
/// (`shared::encoding::decode_s3_event_key` is the inverse).
pub fn s3_event_key(key: &str) -> String {
    key.split(' ')
        .map(|part| utf8_percent_encode(part, S3_KEY_KEEP).to_string())
        .collect::<Vec<_>>()
        .join("+")
}

/// One stored object version, as an `ObjectCreated:Put` notification describes it.
#[derive(Debug, Clone)]
pub struct CreatedObject<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    pub size: i64,
    pub e_tag: &'a str,
    pub version_id: Option<&'a str>,
}

/// The S3 notification event for `object` (configuration id: the template's event name).
pub fn s3_object_created(
    object: &CreatedObject<'_>,
    region: &str,
    configuration_id: &str,
) -> Value {
    json!({
        "Records": [{
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": region,
            "eventTime": rfc3339_millis(now()),
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:LOCAL"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {
                "x-amz-request-id": format!("{:016X}", fastrand::u64(..)),
                "x-amz-id-2": format!("local/{:032x}", fastrand::u128(..))
            },
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": configuration_id,
                "bucket": {
                    "name": object.bucket,
                    "ownerIdentity": {"principalId": "LOCAL"},
                    "arn": format!("arn:aws:s3:::{}", object.bucket)
                },
                "object": {
                    "key": s3_event_key(object.key),
                    "size": object.size,
                    "eTag": object.e_tag.trim_matches('"'),
                    "versionId": object.version_id,
                    "sequencer": format!("{:018X}", (now().unix_timestamp_nanos() as u128) % (1 << 72))
                }
            }
        }]
    })
}

/// An EventBridge `Scheduled Event` from the rule `rule_arn`.
pub fn scheduled(rule_arn: &str, account: &str, region: &str) -> Value {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    let id = fastrand::u128(..);
    json!({
        "version": "0",
        "id": format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            id >> 96, (id >> 80) & 0xffff, (id >> 68) & 0xfff, (id >> 56) & 0xfff, id & 0xffff_ffff_ffff
        ),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": now().format(&format).unwrap_or_default(),
        "region": region,
        "resources": [rule_arn],
        "detail": {}
    })
}

/// One message of an SQS batch: its id, receipt handle and body.
pub struct QueueMessage<'a> {
    pub message_id: &'a str,
    pub receipt_handle: &'a str,
    pub body: &'a str,
    /// How many times SQS has handed it out, this time included.
    pub receive_count: u32,
}

/// The event Lambda's SQS event source sends: a batch of messages from `queue_arn`.
pub fn sqs_batch(queue_arn: &str, region: &str, messages: &[QueueMessage<'_>]) -> Value {
    let millis = (now().unix_timestamp_nanos() / 1_000_000).to_string();
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": {
                    "ApproximateReceiveCount": m.receive_count.to_string(),
                    "SentTimestamp": millis,
                    "SenderId": "LOCAL",
                    "ApproximateFirstReceiveTimestamp": millis
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region
            })
        })
        .collect();
    json!({ "Records": records })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::eventbridge::EventBridgeEvent;
    use aws_lambda_events::event::s3::S3Event;

    #[test]
    fn encoded_keys_decode_back_with_the_deployed_decoder() {
        for key in [
            "incoming/acct_1/catalog/plain.csv",
            "incoming/acct_1/catalog/a b+c%d.csv",
            "incoming/acct_1/catalog/ünïcode & (parens) ~tilde.tsv",
            "incoming/acct_1/catalog/  spaced  .csv",
        ] {
            assert_eq!(
                shared::encoding::decode_s3_event_key(&s3_event_key(key)).as_deref(),
                Ok(key)
            );
        }
    }

    #[test]
    fn s3_keys_are_encoded_like_s3_notifications() {
        assert_eq!(
            s3_event_key("incoming/acct_1/catalog/spring sale(2026)é.csv"),
            "incoming/acct_1/catalog/spring+sale%282026%29%C3%A9.csv"
        );
    }

    /// The paths of every leaf of a JSON document (arrays by index).
    fn shape(value: &Value, path: String, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    shape(v, format!("{path}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    shape(v, format!("{path}/{i}"), out);
                }
            }
            _ => out.push(path),
        }
    }

    #[test]
    fn built_events_have_the_shape_of_the_committed_fixtures() {
        let fixture = |name: &str| -> Value {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../events/catalog")
                .join(name);
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
        };
        let object = CreatedObject {
            bucket: "b",
            key: "k",
            size: 1,
            e_tag: "e",
            version_id: Some("v"),
        };
        for (built, committed) in [
            (
                s3_object_created(&object, "us-east-1", "c"),
                fixture("s3_put.json"),
            ),
            (
                scheduled("arn", "0", "us-east-1"),
                fixture("scheduled.json"),
            ),
        ] {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            shape(&built, String::new(), &mut a);
            shape(&committed, String::new(), &mut b);
            a.sort();
            b.sort();
            assert_eq!(a, b);
        }
    }

    #[test]
    fn built_events_parse_as_the_aws_types() {
        let object = CreatedObject {
            bucket: "b",
            key: "incoming/acct_1/catalog/a b.csv",
            size: 12,
            e_tag: "\"abc\"",
            version_id: Some("v1"),
        };
        let s3: S3Event =
            serde_json::from_value(s3_object_created(&object, "us-east-1", "Incoming"))
                .expect("an S3Event");
        let record = &s3.records[0];
        assert_eq!(
            record.s3.object.key.as_deref(),
            Some("incoming/acct_1/catalog/a+b.csv")
        );
        assert_eq!(record.s3.object.e_tag.as_deref(), Some("abc"));
        assert_eq!(record.s3.object.version_id.as_deref(), Some("v1"));
        assert_eq!(record.event_name.as_deref(), Some("ObjectCreated:Put"));

        let tick: EventBridgeEvent = serde_json::from_value(scheduled(
            "arn:aws:events:us-east-1:0:rule/r",
            "0",
            "us-east-1",
        ))
        .expect("an EventBridge event");
        assert_eq!(tick.detail_type, "Scheduled Event");
        assert_eq!(
            tick.resources.as_deref(),
            Some(&["arn:aws:events:us-east-1:0:rule/r".to_string()][..])
        );

        let request = http_api_request(
            "POST",
            "/x",
            "",
            &[("Stripe-Signature".into(), "t=1".into())],
            &[0xff, 0xfe],
        );
        assert!(request.is_base64_encoded);
        assert_eq!(request.headers.get("stripe-signature").unwrap(), "t=1");
    }
}
