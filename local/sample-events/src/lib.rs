//! Sample events, never deployed.
//!
//! - [`aws`]: the events AWS hands our functions, built locally: API Gateway requests
//!   (HTTP API payload 2.0, and the REST API / payload 1.0 shape), S3 `ObjectCreated`
//!   notifications and EventBridge scheduled events. The local stack (`make run`) and the
//!   tests feed the functions these, so they see what AWS would send.
//! - [`fixtures`]: the committed `events/` fixtures re-signed with the current time, for
//!   `acb events sign|send`, `cargo lambda invoke --data-file` and the tests.

pub mod aws;
pub mod fixtures;
