//! The events AWS hands our functions, built locally: API Gateway HTTP API (2.0) requests,
//! S3 `ObjectCreated` notifications and EventBridge scheduled events. The offline stack
//! (`make run`) and the tests feed the functions these, so they see what AWS would send.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::Engine;
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

/// The API Gateway v2 event for a request, as AWS builds it: lower-cased header names,
/// base64 for bodies that are not UTF-8 text, a fresh request id.
pub fn api_gateway_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> ApiGatewayV2httpRequest {
    let (body_text, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (base64::engine::general_purpose::STANDARD.encode(body), true),
    };
    let header_map: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), json!(v)))
        .collect();
    let now_ms = (now().unix_timestamp_nanos() / 1_000_000) as i64;
    serde_json::from_value(json!({
        "version": "2.0",
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": {
            "accountId": "000000000000", "apiId": "local", "domainName": "127.0.0.1", "domainPrefix": "local",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": ""},
            "requestId": format!("local-{:016x}", fastrand::u64(..)), "routeKey": format!("{method} {path}"),
            "stage": "$default", "time": "", "timeEpoch": now_ms
        },
        "body": body_text,
        "isBase64Encoded": is_base64
    }))
    .expect("a well-formed API Gateway v2 event")
}

/// The API Gateway v2 event for an HTTP request received as `parts` and `body`.
pub fn api_gateway_request_from_http(
    parts: &http::request::Parts,
    body: &[u8],
) -> ApiGatewayV2httpRequest {
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_string(), v.to_string()))
        })
        .collect();
    api_gateway_request(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &headers,
        body,
    )
}

/// S3's encoding of keys in event notifications: URL encoding with `+` for spaces.
pub fn s3_event_key(key: &str) -> String {
    let mut out = String::new();
    for byte in key.bytes() {
        match byte {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::eventbridge::EventBridgeEvent;
    use aws_lambda_events::event::s3::S3Event;

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
                .join("../events/catalog")
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

        let request = api_gateway_request(
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
