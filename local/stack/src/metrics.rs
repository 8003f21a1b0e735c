//! The functions' metrics, as CloudWatch would count them: every function prints its data
//! points on stdout in the Embedded Metric Format (one JSON object per line with an `_aws`
//! member, see `shared::metrics`); the local runtime hands each stdout line here, and the
//! scenario's summary prints the sum of each metric by function and dimensions.
//!
//! The lines come from processes we start, but they are still parsed as outside input:
//! anything that is not an EMF document is ignored, and the number of distinct series is
//! bounded.
//!
//! EMF (AWS, "Specification: Embedded metric format"): `_aws.CloudWatchMetrics` is a list
//! of directives `{Namespace, Dimensions: [[name, ...], ...], Metrics: [{Name, Unit}]}`;
//! each dimension and each metric value is a top-level member of the document; a value is a
//! number or an array of numbers. A point is counted once, under its first (finest)
//! dimension set: the other sets are roll-ups of the same point.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// At most this many distinct series are kept; points of further ones are counted as dropped.
const MAX_SERIES: usize = 10_000;

/// One series: a metric of a function, with the other dimensions in the order the
/// document lists them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct SeriesKey {
    function: String,
    metric: String,
    dimensions: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MetricTotal {
    /// The `Function` dimension (`-` when a point has none).
    pub function: String,
    pub metric: String,
    /// The other dimensions, as `(name, value)`.
    pub dimensions: Vec<(String, String)>,
    /// The unit of the first point seen (`Count` when none was given).
    pub unit: String,
    pub sum: f64,
    pub points: u64,
}

impl MetricTotal {
    /// `finalize-checkout HookDecision Hook=finalize Decision=approved 1`; units other
    /// than `Count` are named, with the number of points behind the sum.
    pub fn line(&self) -> String {
        let mut line = format!("{} {}", self.function, self.metric);
        for (name, value) in &self.dimensions {
            line.push_str(&format!(" {name}={value}"));
        }
        line.push(' ');
        line.push_str(&number(self.sum));
        if self.unit != "Count" {
            line.push_str(&format!(" {} over {} points", self.unit, self.points));
        }
        line
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value:.3}")
    }
}

#[derive(Default)]
struct Totals {
    series: BTreeMap<SeriesKey, (String, f64, u64)>,
    dropped: u64,
}

/// Sums of the EMF points seen on the functions' stdout. Cheap to clone; shared by every
/// function of the stack.
#[derive(Clone, Default)]
pub struct MetricsCollector(Arc<Mutex<Totals>>);

impl MetricsCollector {
    pub fn new() -> Self {
        Self::default()
    }

    fn totals(&self) -> std::sync::MutexGuard<'_, Totals> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts the points of one stdout line; returns how many it held (0 for a line that
    /// is not an EMF document).
    pub fn record_line(&self, line: &str) -> usize {
        let points = parse_line(line);
        if points.is_empty() {
            return 0;
        }
        let mut totals = self.totals();
        for (key, unit, value, count) in &points {
            if !totals.series.contains_key(key) && totals.series.len() >= MAX_SERIES {
                totals.dropped += count;
                continue;
            }
            let entry = totals
                .series
                .entry(key.clone())
                .or_insert_with(|| (unit.clone(), 0.0, 0));
            entry.1 += value;
            entry.2 += count;
        }
        points.len()
    }

    /// Every series, sorted by function, metric and dimensions.
    pub fn snapshot(&self) -> Vec<MetricTotal> {
        self.totals()
            .series
            .iter()
            .map(|(key, (unit, sum, points))| MetricTotal {
                function: key.function.clone(),
                metric: key.metric.clone(),
                dimensions: key.dimensions.clone(),
                unit: unit.clone(),
                sum: *sum,
                points: *points,
            })
            .collect()
    }

    /// The summary's lines, one per series.
    pub fn lines(&self) -> Vec<String> {
        self.snapshot().iter().map(MetricTotal::line).collect()
    }

    /// Points of series beyond [`MAX_SERIES`], not counted.
    pub fn dropped(&self) -> u64 {
        self.totals().dropped
    }

    /// The sum of `metric` over the series of `function` whose dimensions include every
    /// pair of `filter`.
    pub fn sum(&self, function: &str, metric: &str, filter: &[(&str, &str)]) -> f64 {
        self.snapshot()
            .iter()
            .filter(|t| t.function == function && t.metric == metric)
            .filter(|t| {
                filter
                    .iter()
                    .all(|(k, v)| t.dimensions.iter().any(|(n, x)| n == k && x == v))
            })
            .map(|t| t.sum)
            .sum()
    }
}

/// The points of one line: (series, unit, sum of its values, number of values).
fn parse_line(line: &str) -> Vec<(SeriesKey, String, f64, u64)> {
    let line = line.trim();
    if !line.starts_with('{') || !line.contains("\"_aws\"") {
        return Vec::new();
    }
    let Ok(Value::Object(document)) = serde_json::from_str::<Value>(line) else {
        return Vec::new();
    };
    let Some(directives) = document
        .get("_aws")
        .and_then(|aws| aws.get("CloudWatchMetrics"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut points = Vec::new();
    for directive in directives {
        let names: Vec<&str> = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .and_then(|sets| sets.first())
            .and_then(Value::as_array)
            .map(|set| set.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let function = document.get("Function").map(text).unwrap_or("-".into());
        let dimensions: Vec<(String, String)> = names
            .iter()
            .filter(|n| **n != "Function")
            .map(|n| {
                (
                    n.to_string(),
                    document.get(*n).map(text).unwrap_or("-".into()),
                )
            })
            .collect();
        for metric in directive
            .get("Metrics")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = metric.get("Name").and_then(Value::as_str) else {
                continue;
            };
            let unit = metric
                .get("Unit")
                .and_then(Value::as_str)
                .unwrap_or("Count")
                .to_string();
            let values: Vec<f64> = match document.get(name) {
                Some(Value::Number(n)) => n.as_f64().into_iter().collect(),
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_f64).collect(),
                _ => Vec::new(),
            };
            let values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
            if values.is_empty() {
                continue;
            }
            points.push((
                SeriesKey {
                    function: function.clone(),
                    metric: name.to_string(),
                    dimensions: dimensions.clone(),
                },
                unit,
                values.iter().sum(),
                values.len() as u64,
            ));
        }
    }
    points
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines exactly as `shared::metrics::Metrics::emf` prints them.
    fn decision(decision: &str) -> String {
        format!(
            r#"{{"_aws":{{"Timestamp":1700000000000,"CloudWatchMetrics":[{{"Namespace":"AgenticCommerce/acb-local","Dimensions":[["Function","Hook","Decision"],["Function"]],"Metrics":[{{"Name":"HookDecision","Unit":"Count"}}]}}]}},"Function":"finalize-checkout","Hook":"finalize","Decision":"{decision}","HookDecision":1.0}}"#
        )
    }

    fn latency(ms: u64) -> String {
        format!(
            r#"{{"_aws":{{"Timestamp":1700000000000,"CloudWatchMetrics":[{{"Namespace":"AgenticCommerce","Dimensions":[["Function","Hook"],["Function"]],"Metrics":[{{"Name":"HookLatency","Unit":"Milliseconds"}}]}}]}},"Function":"finalize-checkout","Hook":"finalize","HookLatency":{ms}}}"#
        )
    }

    #[test]
    fn emf_lines_are_summed_by_function_and_dimensions_once_per_point() {
        let metrics = MetricsCollector::new();
        for line in [
            decision("approved"),
            decision("approved"),
            decision("declined"),
            latency(12),
            latency(30),
        ] {
            assert_eq!(metrics.record_line(&format!("{line}\n")), 1);
        }
        // A line of the Function-only roll-up set is not counted again.
        assert_eq!(
            metrics.lines(),
            vec![
                "finalize-checkout HookDecision Hook=finalize Decision=approved 2",
                "finalize-checkout HookDecision Hook=finalize Decision=declined 1",
                "finalize-checkout HookLatency Hook=finalize 42 Milliseconds over 2 points",
            ]
        );
        assert_eq!(metrics.sum("finalize-checkout", "HookDecision", &[]), 3.0);
        assert_eq!(
            metrics.sum(
                "finalize-checkout",
                "HookDecision",
                &[("Decision", "approved")]
            ),
            2.0
        );
        assert_eq!(metrics.sum("webhooks", "HookDecision", &[]), 0.0);
    }

    #[test]
    fn log_lines_and_malformed_documents_are_ignored() {
        let metrics = MetricsCollector::new();
        for line in [
            "",
            "plain text",
            r#"{"level":"INFO","fields":{"message":"hook answered"}}"#,
            r#"{"_aws": 7}"#,
            r#"{"_aws": {"CloudWatchMetrics": "no"}}"#,
            r#"{"_aws": {"CloudWatchMetrics": [{"Metrics": [{"Name": "X"}]}]}, "X": "not a number"}"#,
            r#"{"_aws": {"CloudWatchMetrics": [{"Metrics": [{"Unit": "Count"}]}]}}"#,
            "{\"_aws\": {\"CloudWatchMetrics\": [",
        ] {
            assert_eq!(metrics.record_line(line), 0, "{line}");
        }
        assert!(metrics.lines().is_empty());
    }

    #[test]
    fn arrays_of_values_missing_dimensions_and_units_are_handled() {
        let metrics = MetricsCollector::new();
        let line = r#"{"_aws":{"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["Function","Cause"]],"Metrics":[{"Name":"Fallback"}]}]},"Function":"webhooks","Fallback":[1,2,3]}"#;
        assert_eq!(metrics.record_line(line), 1);
        let no_function = r#"{"_aws":{"CloudWatchMetrics":[{"Metrics":[{"Name":"Orders","Unit":"Count"}]}]},"Orders":2}"#;
        assert_eq!(metrics.record_line(no_function), 1);
        assert_eq!(
            metrics.lines(),
            vec!["- Orders 2", "webhooks Fallback Cause=- 6"]
        );
    }

    #[test]
    fn the_number_of_series_is_bounded() {
        let metrics = MetricsCollector::new();
        for i in 0..MAX_SERIES + 5 {
            metrics.record_line(&decision(&format!("d{i}")));
        }
        assert_eq!(metrics.snapshot().len(), MAX_SERIES);
        assert_eq!(metrics.dropped(), 5);
    }
}
