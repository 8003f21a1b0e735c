//! `/_sim/rate_limits` (the limits in force) and `/_sim/stats` (what the API has been asked).

use super::{ControlResult, ok, parse};
use crate::RateLimits;
use crate::errors::ApiError;
use crate::state::Sim;
use axum::body::Bytes;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// `POST /_sim/rate_limits`: a preset (`mode`), a preset with some figures changed, or all
/// four figures (`mode` `custom` or left out). `GET` answers in the same shape, so its
/// answer can be posted back.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Setting {
    mode: Option<String>,
    global_per_second: Option<u32>,
    endpoint_per_second: Option<u32>,
    files_reads_per_second: Option<u32>,
    files_writes_per_second: Option<u32>,
}

impl Setting {
    fn figures(&self) -> [Option<u32>; 4] {
        [
            self.global_per_second,
            self.endpoint_per_second,
            self.files_reads_per_second,
            self.files_writes_per_second,
        ]
    }

    fn limits(&self) -> Result<Option<RateLimits>, ApiError> {
        let base = match self.mode.as_deref() {
            Some("off") => {
                if self.figures().iter().any(Option::is_some) {
                    return Err(ApiError::invalid_param(
                        "mode",
                        "mode off takes no figures: leave them out (or null).",
                    ));
                }
                return Ok(None);
            }
            Some("live") => RateLimits::live(),
            Some("sandbox") => RateLimits::sandbox(),
            None | Some("custom") => {
                let [Some(global), Some(endpoint), Some(reads), Some(writes)] = self.figures()
                else {
                    return Err(ApiError::invalid(
                        "Without mode live or sandbox, give all four of global_per_second, endpoint_per_second, files_reads_per_second and files_writes_per_second (0 turns one off), or mode off.",
                    ));
                };
                return Ok(Some(RateLimits {
                    global_per_second: global,
                    endpoint_per_second: endpoint,
                    files_reads_per_second: reads,
                    files_writes_per_second: writes,
                }));
            }
            Some(other) => {
                return Err(ApiError::invalid_param(
                    "mode",
                    format!("mode must be off, live, sandbox or custom, not `{other}`."),
                ));
            }
        };
        Ok(Some(RateLimits {
            global_per_second: self.global_per_second.unwrap_or(base.global_per_second),
            endpoint_per_second: self.endpoint_per_second.unwrap_or(base.endpoint_per_second),
            files_reads_per_second: self
                .files_reads_per_second
                .unwrap_or(base.files_reads_per_second),
            files_writes_per_second: self
                .files_writes_per_second
                .unwrap_or(base.files_writes_per_second),
        }))
    }
}

fn describe(limits: Option<&RateLimits>) -> Value {
    json!({
        "mode": RateLimits::preset(limits),
        "global_per_second": limits.map(|l| l.global_per_second),
        "endpoint_per_second": limits.map(|l| l.endpoint_per_second),
        "files_reads_per_second": limits.map(|l| l.files_reads_per_second),
        "files_writes_per_second": limits.map(|l| l.files_writes_per_second),
    })
}

pub async fn get_rate_limits(State(sim): State<Arc<Sim>>) -> ControlResult {
    ok(describe(sim.lock().traffic.limits.as_ref()))
}

/// Replaces the limits in force; the last second's requests still count against new ones.
pub async fn set_rate_limits(State(sim): State<Arc<Sim>>, body: Bytes) -> ControlResult {
    let setting: Setting = parse(&body)?;
    let limits = setting.limits()?;
    sim.lock().traffic.limits = limits;
    ok(describe(limits.as_ref()))
}

pub async fn stats(State(sim): State<Arc<Sim>>) -> ControlResult {
    ok(json!(sim.lock().traffic.stats()))
}

pub async fn reset_stats(State(sim): State<Arc<Sim>>) -> ControlResult {
    sim.lock().traffic.reset_stats();
    ok(json!({ "reset": true }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(body: Value) -> Result<Option<RateLimits>, ApiError> {
        serde_json::from_value::<Setting>(body)
            .map_err(|e| ApiError::invalid(e.to_string()))?
            .limits()
    }

    #[test]
    fn presets_overrides_and_explicit_figures() {
        assert_eq!(limits(json!({"mode": "off"})).ok(), Some(None));
        assert_eq!(
            limits(json!({"mode": "live"})).ok(),
            Some(Some(RateLimits::live()))
        );
        let changed = limits(json!({"mode": "sandbox", "endpoint_per_second": 3}));
        assert_eq!(
            changed.ok(),
            Some(Some(RateLimits {
                endpoint_per_second: 3,
                ..RateLimits::sandbox()
            }))
        );
        let explicit = json!({"global_per_second": 7, "endpoint_per_second": 6, "files_reads_per_second": 5, "files_writes_per_second": 0});
        let expected = RateLimits {
            global_per_second: 7,
            endpoint_per_second: 6,
            files_reads_per_second: 5,
            files_writes_per_second: 0,
        };
        assert_eq!(limits(explicit.clone()).ok(), Some(Some(expected)));
        // What GET answers can be posted back.
        assert_eq!(limits(describe(Some(&expected))).ok(), Some(Some(expected)));
        assert_eq!(limits(describe(None)).ok(), Some(None));
        assert_eq!(
            limits(describe(Some(&RateLimits::live()))).ok(),
            Some(Some(RateLimits::live()))
        );
    }

    #[test]
    fn incomplete_or_unknown_settings_are_refused() {
        assert!(limits(json!({})).is_err());
        assert!(limits(json!({"global_per_second": 5})).is_err());
        assert!(limits(json!({"mode": "turbo"})).is_err());
        assert!(limits(json!({"mode": "off", "global_per_second": 5})).is_err());
        assert!(limits(json!({"mode": "live", "burst": 5})).is_err());
        assert!(limits(json!({"mode": "live", "global_per_second": -1})).is_err());
    }
}
