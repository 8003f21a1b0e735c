//! The local stack behind `make run` (see main.rs): a Lambda Runtime API per function,
//! the HTTP API, S3 notifications and schedules from `template.yaml`, and the scenario.

pub mod boot;
pub mod gateway;
pub mod metrics;
pub mod runtime;
pub mod scenario;
pub mod secrets;
pub mod triggers;

pub use sam_template::{provision, template};

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use crate::template::StackContext;

/// What the scenario and the operator need to reach the running stack.
pub struct Stack {
    pub context: StackContext,
    pub api_url: String,
    pub sim_url: String,
    pub bucket: String,
    /// Table names by logical id.
    pub tables: HashMap<String, String>,
    pub dynamodb_endpoint: String,
    pub s3_endpoint: String,
    pub run_dir: PathBuf,
    pub bin_dir: PathBuf,
    pub demo_dir: PathBuf,
    /// The environment for `acb` against this stack (also written to stack.env).
    pub cli_env: BTreeMap<String, String>,
    pub dynamo: aws_sdk_dynamodb::Client,
    pub s3: aws_sdk_s3::Client,
    /// Each function's local Lambda service, by logical id.
    pub functions: Vec<(String, runtime::LocalFunction)>,
    /// The functions' EMF metrics, summed.
    pub metrics: metrics::MetricsCollector,
    /// The DynamoDB fault proxy the functions go through (`--dynamodb-faults`).
    pub faults: Option<dynamo_faults::FaultProxy>,
    /// The Stripe secrets in use (public test values, or marked ones).
    pub secrets: boot::LocalSecrets,
}

impl Stack {
    pub fn table(&self, logical_id: &str) -> String {
        self.tables.get(logical_id).cloned().unwrap_or_default()
    }

    pub fn function(&self, logical_id: &str) -> Option<&runtime::LocalFunction> {
        self.functions
            .iter()
            .find(|(id, _)| id == logical_id)
            .map(|(_, f)| f)
    }

    /// Every line of the functions' and stripe-sim's logs that says a thread panicked.
    pub fn panics_in_logs(&self) -> Vec<String> {
        let mut found = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.run_dir) else {
            return found;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "log") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for line in text.lines().filter(|l| l.contains("panicked")) {
                found.push(format!("{}: {line}", path.display()));
            }
        }
        found
    }
}
