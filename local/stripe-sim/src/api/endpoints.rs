//! Which endpoint a request is: the route that serves it, and its name for rate limits and
//! statistics, `METHOD /route` with ids written `{id}`. Stripe counts each named operation
//! as its own endpoint: `POST /v1/payment_intents` and `GET /v1/payment_intents/{id}` are
//! two, and GETs of different ids are one (docs/stripe.md 7.11).
//!
//! The table below is the only list of routes; `super::dispatch` serves what it names.

use crate::state::traffic::ApiRequest;
use axum::http::Method;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    ImportSetCreate,
    ImportSetRetrieve,
    FileCreate,
    FileRetrieve,
    FileContents,
    SessionList,
    SessionRetrieve,
    SessionLineItems,
    PaymentIntentList,
    PaymentIntentRetrieve,
    PaymentIntentCapture,
    ChargeRetrieve,
    RefundCreate,
    RefundRetrieve,
    DisputeRetrieve,
    AccountSessionCreate,
    CatalogImportCreate,
    CatalogImportRetrieve,
    EventRetrieve,
    AgreementCreate,
    AgreementList,
    AgreementRetrieve,
    AgreementConfirm,
    AgreementTerminate,
}

/// Method, route (`{id}` matches one non-empty segment), what serves it. The import sets
/// routes are not here: their path is configurable (see [`identify`]).
const ROUTES: &[(&str, &str, Route)] = &[
    ("POST", "/v1/files", Route::FileCreate),
    ("GET", "/v1/files/{id}", Route::FileRetrieve),
    ("GET", "/v1/files/{id}/contents", Route::FileContents),
    ("GET", "/v1/checkout/sessions", Route::SessionList),
    ("GET", "/v1/checkout/sessions/{id}", Route::SessionRetrieve),
    (
        "GET",
        "/v1/checkout/sessions/{id}/line_items",
        Route::SessionLineItems,
    ),
    ("GET", "/v1/payment_intents", Route::PaymentIntentList),
    (
        "GET",
        "/v1/payment_intents/{id}",
        Route::PaymentIntentRetrieve,
    ),
    (
        "POST",
        "/v1/payment_intents/{id}/capture",
        Route::PaymentIntentCapture,
    ),
    ("GET", "/v1/charges/{id}", Route::ChargeRetrieve),
    ("POST", "/v1/refunds", Route::RefundCreate),
    ("GET", "/v1/refunds/{id}", Route::RefundRetrieve),
    ("GET", "/v1/disputes/{id}", Route::DisputeRetrieve),
    ("POST", "/v1/account_sessions", Route::AccountSessionCreate),
    (
        "POST",
        "/v2/commerce/product_catalog/imports",
        Route::CatalogImportCreate,
    ),
    (
        "GET",
        "/v2/commerce/product_catalog/imports/{id}",
        Route::CatalogImportRetrieve,
    ),
    ("GET", "/v2/core/events/{id}", Route::EventRetrieve),
    (
        "POST",
        "/v2/orchestrated_commerce/agreements",
        Route::AgreementCreate,
    ),
    (
        "GET",
        "/v2/orchestrated_commerce/agreements",
        Route::AgreementList,
    ),
    (
        "GET",
        "/v2/orchestrated_commerce/agreements/{id}",
        Route::AgreementRetrieve,
    ),
    (
        "POST",
        "/v2/orchestrated_commerce/agreements/{id}/confirm",
        Route::AgreementConfirm,
    ),
    (
        "POST",
        "/v2/orchestrated_commerce/agreements/{id}/terminate",
        Route::AgreementTerminate,
    ),
];

/// A request's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint<'p> {
    /// `None`: no route matches (answered 404 `Unrecognized request URL`).
    pub route: Option<Route>,
    /// `METHOD /route`, or `METHOD (unrecognized)` (one name per method, so the statistics
    /// stay bounded whatever URLs arrive).
    pub name: String,
    /// The path's ids, in order.
    pub ids: Vec<&'p str>,
    /// Under `/v1/files`.
    pub files: bool,
    /// A `GET`.
    pub read: bool,
}

impl Endpoint<'_> {
    /// The first id of the path (every route has at most one).
    pub fn id(&self) -> &str {
        self.ids.first().copied().unwrap_or("")
    }

    /// The request as the rate limiter and statistics count it.
    pub fn counted(&self) -> ApiRequest {
        ApiRequest {
            endpoint: self.name.clone(),
            known: self.route.is_some(),
            read: self.read,
            files: self.files,
        }
    }
}

/// Standard methods by name; any other is `OTHER`, to keep the names a closed set.
fn method_name(method: &Method) -> &'static str {
    [
        "GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT",
    ]
    .into_iter()
    .find(|m| *m == method.as_str())
    .unwrap_or("OTHER")
}

/// The ids `path` fills into `pattern`'s `{id}` segments, if it matches. A literal segment
/// of a pattern is never empty, so a path with an empty segment (`/v1/charges/`) matches
/// nothing.
fn matches<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let want: Vec<&str> = pattern.split('/').collect();
    let got: Vec<&'p str> = path.split('/').collect();
    if want.len() != got.len() {
        return None;
    }
    let mut ids = Vec::new();
    for (want, got) in want.into_iter().zip(got) {
        if want == "{id}" && !got.is_empty() {
            ids.push(got);
        } else if want != got {
            return None;
        }
    }
    Some(ids)
}

/// The endpoint of `method path`; `import_sets` is the configured import sets path.
pub fn identify<'p>(method: &Method, path: &'p str, import_sets: &str) -> Endpoint<'p> {
    let method = method_name(method);
    let import_sets = import_sets.trim_end_matches('/');
    let mut found: Option<(Route, String, Vec<&'p str>)> = None;
    if method == "POST" && path == import_sets {
        found = Some((Route::ImportSetCreate, import_sets.to_string(), Vec::new()));
    } else if let Some(id) = path
        .strip_prefix(import_sets)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|id| method == "GET" && !id.is_empty() && !id.contains('/'))
    {
        let pattern = format!("{import_sets}/{{id}}");
        found = Some((Route::ImportSetRetrieve, pattern, vec![id]));
    }
    if found.is_none() {
        found = ROUTES
            .iter()
            .filter(|(m, _, _)| *m == method)
            .find_map(|(_, pattern, route)| {
                matches(pattern, path).map(|ids| (*route, pattern.to_string(), ids))
            });
    }
    let files = path == "/v1/files" || path.starts_with("/v1/files/");
    let read = method == "GET";
    match found {
        Some((route, pattern, ids)) => Endpoint {
            route: Some(route),
            name: format!("{method} {pattern}"),
            ids,
            files,
            read,
        },
        None => Endpoint {
            route: None,
            name: format!("{method} (unrecognized)"),
            ids: Vec::new(),
            files,
            read,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMPORT_SETS: &str = "/v1/data_management/import_sets";

    fn name(method: Method, path: &str) -> String {
        identify(&method, path, IMPORT_SETS).name
    }

    #[test]
    fn ids_are_left_out_of_the_name_and_methods_make_separate_endpoints() {
        assert_eq!(
            name(Method::GET, "/v1/data_management/import_sets/impset_1"),
            "GET /v1/data_management/import_sets/{id}"
        );
        assert_eq!(
            name(Method::GET, "/v1/data_management/import_sets/impset_2"),
            "GET /v1/data_management/import_sets/{id}"
        );
        assert_eq!(
            name(Method::POST, "/v1/data_management/import_sets"),
            "POST /v1/data_management/import_sets"
        );
        let capture = identify(
            &Method::POST,
            "/v1/payment_intents/pi_9/capture",
            IMPORT_SETS,
        );
        assert_eq!(capture.name, "POST /v1/payment_intents/{id}/capture");
        assert_eq!(capture.route, Some(Route::PaymentIntentCapture));
        assert_eq!(capture.id(), "pi_9");
        assert_eq!(
            name(Method::GET, "/v2/orchestrated_commerce/agreements/orca_1"),
            "GET /v2/orchestrated_commerce/agreements/{id}"
        );
    }

    #[test]
    fn files_reads_and_writes_are_told_apart() {
        let contents = identify(&Method::GET, "/v1/files/file_1/contents", IMPORT_SETS);
        assert_eq!(contents.route, Some(Route::FileContents));
        assert!(contents.files && contents.read);
        let upload = identify(&Method::POST, "/v1/files", IMPORT_SETS);
        assert!(upload.files && !upload.read);
        let charge = identify(&Method::GET, "/v1/charges/ch_1", IMPORT_SETS);
        assert!(!charge.files && charge.read);
        // `/v1/filesystem` is not the Files API.
        assert!(!identify(&Method::GET, "/v1/filesystem", IMPORT_SETS).files);
    }

    #[test]
    fn misses_are_unrecognized_and_empty_segments_never_match() {
        for (method, path) in [
            (Method::GET, "/v1/charges/"),
            (Method::GET, "/v1/charges"),
            (Method::GET, "/v1/charges//x"),
            (Method::DELETE, "/v1/files/file_1"),
            (Method::GET, "/v1/data_management/import_sets/a/b"),
            (Method::GET, "/v1/data_management/import_sets/"),
            (Method::POST, "/v2/commerce/product_catalog/imports/"),
            (Method::GET, "//v1/charges/ch_1"),
        ] {
            let endpoint = identify(&method, path, IMPORT_SETS);
            assert_eq!(endpoint.route, None, "{method} {path}");
            assert_eq!(endpoint.name, format!("{method} (unrecognized)"));
        }
        let odd = Method::from_bytes(b"BREW").expect("method");
        assert_eq!(name(odd, "/v1/coffee"), "OTHER (unrecognized)");
    }

    #[test]
    fn every_route_in_the_table_is_found_by_its_own_pattern() {
        for (method, pattern, route) in ROUTES {
            let path = pattern.replace("{id}", "x_1");
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            let endpoint = identify(&method, &path, IMPORT_SETS);
            assert_eq!(endpoint.route, Some(*route), "{path}");
            assert_eq!(endpoint.name, format!("{method} {pattern}"));
        }
    }
}
