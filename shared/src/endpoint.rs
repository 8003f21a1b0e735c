//! What every HTTP endpoint of the bundle shares, whatever carries the request (API
//! Gateway's HTTP or REST API, a Function URL, an ALB through `lambda_http`; a test's
//! `http::Request`): the route and method check before a core runs, and the core's answer.
//!
//! The cores themselves are transport-neutral: `receive(raw_body, signature) -> HttpAnswer`.

use serde_json::{Value, json};

/// An HTTP answer independent of the transport: a status and a JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpAnswer {
    pub status: u16,
    pub body: Value,
}

impl HttpAnswer {
    pub fn ok(body: Value) -> Self {
        Self { status: 200, body }
    }

    /// Stripe-shaped error body: `{"error": {"type", "message"}}`.
    pub fn error(status: u16, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: json!({"error": {"type": kind, "message": message.into()}}),
        }
    }

    /// The answer as an `http::Response` with a JSON body (`lambda_http` sends it back in
    /// whichever shape the request came in).
    pub fn into_response(self) -> http::Response<String> {
        let status = http::StatusCode::from_u16(self.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = http::Response::new(self.body.to_string());
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    }

    /// As [`HttpAnswer::into_response`], with `Cache-Control: no-store`: for answers that carry
    /// a secret meant for one client (an account session's `client_secret`), which no browser
    /// cache or proxy may keep.
    pub fn into_uncacheable_response(self) -> http::Response<String> {
        let mut response = self.into_response();
        response.headers_mut().insert(
            http::header::CACHE_CONTROL,
            http::HeaderValue::from_static("no-store"),
        );
        response
    }
}

/// A signed POST as Stripe sends it: the exact body bytes and the `Stripe-Signature` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedPost<'a> {
    pub body: &'a [u8],
    pub signature: Option<&'a str>,
}

/// The request's path as the route sees it. Behind a REST API stage the path may carry the
/// stage in front (`/prod/stripe/webhooks`), hence the suffix match in [`signed_post`].
pub fn path<B>(request: &http::Request<B>) -> &str {
    request.uri().path()
}

/// Checks that `request` is a POST to `route` and returns its body and signature header;
/// otherwise the 404 or 405 answer to send. The body is taken as received: signatures are
/// computed over the exact bytes (`lambda_http` has already undone API Gateway's base64).
pub fn signed_post<'a, B: AsRef<[u8]>>(
    request: &'a http::Request<B>,
    route: &str,
) -> Result<SignedPost<'a>, HttpAnswer> {
    let path = path(request);
    if !path.ends_with(route) {
        return Err(HttpAnswer::error(
            404,
            "not_found",
            format!("no route for {path}"),
        ));
    }
    if request.method() != http::Method::POST {
        return Err(HttpAnswer::error(405, "method_not_allowed", "use POST"));
    }
    Ok(SignedPost {
        body: request.body().as_ref(),
        signature: request
            .headers()
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: &str, path: &str) -> http::Request<Vec<u8>> {
        http::Request::builder()
            .method(method)
            .uri(path)
            .header("Stripe-Signature", "t=1,v1=ab")
            .body(b"{\"id\":1}".to_vec())
            .unwrap()
    }

    #[test]
    fn a_post_to_the_route_yields_its_exact_body_and_signature() {
        let request = request("POST", "/stripe/webhooks");
        let post = signed_post(&request, "/stripe/webhooks").unwrap();
        assert_eq!(post.body, b"{\"id\":1}");
        assert_eq!(post.signature, Some("t=1,v1=ab"));
    }

    #[test]
    fn a_stage_prefix_still_matches_the_route() {
        let request = request("POST", "/prod/stripe/webhooks");
        assert!(signed_post(&request, "/stripe/webhooks").is_ok());
    }

    #[test]
    fn other_paths_are_404_and_other_methods_405() {
        let other = request("POST", "/stripe/elsewhere");
        assert_eq!(
            signed_post(&other, "/stripe/webhooks").unwrap_err().status,
            404
        );
        let get = request("GET", "/stripe/webhooks");
        assert_eq!(
            signed_post(&get, "/stripe/webhooks").unwrap_err().status,
            405
        );
    }

    #[test]
    fn answers_become_json_responses() {
        let response = HttpAnswer::error(409, "in_progress", "later").into_response();
        assert_eq!(response.status(), 409);
        assert_eq!(response.headers()["content-type"], "application/json");
        let body: Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(body["error"]["type"], "in_progress");
        assert!(!response.headers().contains_key("cache-control"));
    }

    #[test]
    fn uncacheable_answers_say_no_store() {
        let response = HttpAnswer::ok(json!({"client_secret": "x"})).into_uncacheable_response();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");
        assert_eq!(response.headers()["content-type"], "application/json");
    }
}
