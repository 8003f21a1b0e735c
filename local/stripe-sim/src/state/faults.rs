//! Injected faults as `/_sim/faults` sets and lists them; [`crate::faults`] applies them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub path_prefix: String,
    #[serde(default)]
    pub method: Option<String>,
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default = "one")]
    pub count: u32,
    /// Hit only this share (0 < percent <= 100) of the matching requests, at random;
    /// `count` still caps the hits. Unset: every matching request until `count` runs out.
    #[serde(default)]
    pub percent: Option<f64>,
    #[serde(default)]
    pub should_retry: Option<bool>,
    #[serde(default)]
    pub retry_after: Option<u64>,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub after_processing: bool,
    /// Overrides for the error body; defaults follow the status.
    #[serde(default, rename = "type")]
    pub error_type: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub id: String,
    pub remaining: u32,
    #[serde(flatten)]
    pub spec: FaultSpec,
}
