//! Metrics an operator can alarm on, in CloudWatch's Embedded Metric Format: each data
//! point is one JSON line on stdout, which CloudWatch Logs turns into a metric. No API
//! call, no IAM permission, no latency on the request path.
//!
//! Every point has the dimension `Function` (the function's short name) plus its own
//! (`Reason`, `Decision`, ...), and also goes to the `Function`-only set, so an alarm can
//! watch the total without knowing every reason. The namespace comes from
//! `METRICS_NAMESPACE` (the template sets `AgenticCommerce/<stack>`).

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::clock::{Clock, SystemClock};

/// The namespace when `METRICS_NAMESPACE` is unset (local runs).
pub const DEFAULT_NAMESPACE: &str = "AgenticCommerce";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// One data point, as a test sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub name: &'static str,
    pub unit: Unit,
    pub value: f64,
    pub dimensions: Vec<(&'static str, String)>,
}

impl Point {
    pub fn dimension(&self, name: &str) -> Option<&str> {
        self.dimensions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
enum Sink {
    Stdout,
    Recorder(Arc<Mutex<Vec<Point>>>),
}

/// Where a function's metrics go. Cheap to clone.
#[derive(Clone)]
pub struct Metrics {
    namespace: String,
    function: String,
    sink: Sink,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("namespace", &self.namespace)
            .field("function", &self.function)
            .finish()
    }
}

/// The points a [`Metrics::recording`] instance saw.
#[derive(Clone, Default)]
pub struct Recorded(Arc<Mutex<Vec<Point>>>);

impl Recorded {
    pub fn points(&self) -> Vec<Point> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The sum of `name`'s points whose dimensions include every pair of `filter`.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.points()
            .iter()
            .filter(|p| p.name == name)
            .filter(|p| filter.iter().all(|(k, v)| p.dimension(k) == Some(*v)))
            .map(|p| p.value)
            .sum()
    }
}

impl Metrics {
    /// Metrics printed for CloudWatch, in `namespace` (empty: [`DEFAULT_NAMESPACE`]).
    pub fn emf(namespace: Option<&str>, function: &str) -> Self {
        Self {
            namespace: namespace
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(DEFAULT_NAMESPACE)
                .to_string(),
            function: function.to_string(),
            sink: Sink::Stdout,
        }
    }

    /// Metrics kept in memory, for tests and the local stack's summary.
    pub fn recording(function: &str) -> (Self, Recorded) {
        let recorded = Recorded::default();
        let metrics = Self {
            namespace: DEFAULT_NAMESPACE.to_string(),
            function: function.to_string(),
            sink: Sink::Recorder(recorded.0.clone()),
        };
        (metrics, recorded)
    }

    /// Adds one to `name`.
    pub fn count(&self, name: &'static str, dimensions: &[(&'static str, &str)]) {
        self.put(name, Unit::Count, 1.0, dimensions);
    }

    pub fn milliseconds(&self, name: &'static str, millis: u64, dims: &[(&'static str, &str)]) {
        self.put(name, Unit::Milliseconds, millis as f64, dims);
    }

    pub fn put(&self, name: &'static str, unit: Unit, value: f64, dims: &[(&'static str, &str)]) {
        let mut dimensions = vec![("Function", self.function.clone())];
        dimensions.extend(dims.iter().map(|(k, v)| (*k, dimension_value(v))));
        let point = Point {
            name,
            unit,
            value,
            dimensions,
        };
        match &self.sink {
            Sink::Recorder(points) => points.lock().unwrap_or_else(|e| e.into_inner()).push(point),
            Sink::Stdout => {
                let mut line = self.document(&point, SystemClock.now_millis()).to_string();
                line.push('\n');
                // One write of one line: it cannot interleave with a log line.
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
        }
    }

    /// The EMF document of one point.
    fn document(&self, point: &Point, timestamp_millis: i64) -> Value {
        let names: Vec<&str> = point.dimensions.iter().map(|(k, _)| *k).collect();
        let mut sets = vec![names.clone()];
        if names.len() > 1 {
            sets.push(vec!["Function"]);
        }
        let mut document = Map::new();
        document.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_millis,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": sets,
                    "Metrics": [{"Name": point.name, "Unit": point.unit.as_str()}],
                }],
            }),
        );
        for (name, value) in &point.dimensions {
            document.insert((*name).into(), Value::String(value.clone()));
        }
        document.insert(point.name.into(), json!(point.value));
        Value::Object(document)
    }
}

/// A dimension value: CloudWatch takes at most 1024 characters, and a value that names
/// something outside (a reason text) must not grow the metric count without bound, so
/// callers pass fixed vocabularies; this only guards the length.
fn dimension_value(value: &str) -> String {
    let value = if value.is_empty() { "none" } else { value };
    value.chars().take(250).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_names_its_metric_dimensions_and_the_function_only_rollup() {
        let metrics = Metrics::emf(Some("AgenticCommerce/prod"), "finalize-checkout");
        let point = Point {
            name: "HookDecision",
            unit: Unit::Count,
            value: 1.0,
            dimensions: vec![
                ("Function", "finalize-checkout".into()),
                ("Decision", "approved".into()),
            ],
        };
        let doc = metrics.document(&point, 1_700_000_000_000);
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "AgenticCommerce/prod");
        assert_eq!(
            directive["Dimensions"],
            json!([["Function", "Decision"], ["Function"]])
        );
        assert_eq!(
            directive["Metrics"],
            json!([{"Name": "HookDecision", "Unit": "Count"}])
        );
        assert_eq!(doc["_aws"]["Timestamp"], 1_700_000_000_000i64);
        // Every dimension and the value are top-level members, as EMF requires.
        assert_eq!(doc["Function"], "finalize-checkout");
        assert_eq!(doc["Decision"], "approved");
        assert_eq!(doc["HookDecision"], 1.0);
    }

    #[test]
    fn an_empty_namespace_falls_back_and_recordings_sum_by_dimension() {
        assert_eq!(Metrics::emf(Some(" "), "f").namespace, DEFAULT_NAMESPACE);
        let (metrics, recorded) = Metrics::recording("webhooks");
        metrics.count("Fallback", &[("Decision", "approve")]);
        metrics.count("Fallback", &[("Decision", "decline")]);
        metrics.count("Fallback", &[("Decision", "approve")]);
        metrics.milliseconds("Latency", 12, &[]);
        assert_eq!(recorded.sum("Fallback", &[]), 3.0);
        assert_eq!(recorded.sum("Fallback", &[("Decision", "approve")]), 2.0);
        assert_eq!(recorded.sum("Fallback", &[("Function", "webhooks")]), 3.0);
        assert_eq!(recorded.sum("Latency", &[]), 12.0);
        assert_eq!(recorded.points()[3].unit, Unit::Milliseconds);
    }
}
