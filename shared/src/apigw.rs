//! API Gateway HTTP API (payload 2.0) requests and responses, for the function crates.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use base64::Engine;
use http::{HeaderMap, HeaderValue};

use crate::webhooks::HttpAnswer;

/// The raw body bytes exactly as the client sent them: API Gateway base64-encodes bodies it
/// considers binary, and signatures are computed over the original bytes.
pub fn raw_body(request: &ApiGatewayV2httpRequest) -> Result<Vec<u8>, HttpAnswer> {
    let Some(body) = request.body.as_deref() else {
        return Ok(Vec::new());
    };
    if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|_| {
                HttpAnswer::error(
                    400,
                    "invalid_request",
                    "the request body is not valid base64",
                )
            })
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

/// A header's value; API Gateway lower-cases names, and `HeaderMap` ignores case anyway.
pub fn header<'a>(request: &'a ApiGatewayV2httpRequest, name: &str) -> Option<&'a str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

pub fn path(request: &ApiGatewayV2httpRequest) -> &str {
    request
        .raw_path
        .as_deref()
        .or(request.request_context.http.path.as_deref())
        .unwrap_or("")
}

pub fn response(answer: &HttpAnswer) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = i64::from(answer.status);
    response.headers = headers;
    response.body = Some(Body::Text(answer.body.to_string()));
    response.is_base64_encoded = false;
    response
}
