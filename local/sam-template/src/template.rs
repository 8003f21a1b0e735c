//! What `template.yaml` declares, for the local stack: its tables, its bucket, and each
//! function's binary, environment, routes, S3 notifications and schedules. CloudFormation's
//! intrinsic functions are resolved for one local "stack" (name, account 000000000000).
//!
//! The YAML is read through cfn-lint's decoder (`local/scripts/template-json.py`, run with
//! the project's Python venv, which the SAM CLI installs), so `!Ref`/`!Sub`/`!GetAtt` arrive
//! as the JSON forms `{"Ref": …}`, `{"Fn::Sub": …}`, `{"Fn::GetAtt": …}`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("could not read the template: {0}")]
    Read(String),
    #[error("template.yaml: {0}")]
    Shape(String),
}

fn shape(message: impl Into<String>) -> TemplateError {
    TemplateError::Shape(message.into())
}

/// The pseudo parameters and parameter values the template is resolved with.
#[derive(Debug, Clone)]
pub struct StackContext {
    pub stack_name: String,
    pub account_id: String,
    pub region: String,
    /// Parameter values that replace the template's defaults.
    pub parameters: HashMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Table {
    pub logical_id: String,
    pub name: String,
    /// `Properties` of the `AWS::DynamoDB::Table`, resolved.
    pub properties: Value,
}

/// An EventBridge rule on one of the template's buses (schedules are read with the
/// functions), with the SQS queues among its targets.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRule {
    pub logical_id: String,
    pub name: String,
    pub bus: String,
    /// `EventPattern`, resolved.
    pub pattern: Value,
    /// The queue targets: (target id, queue name).
    pub queue_targets: Vec<(String, String)>,
    /// Targets other than queues, by id: a local stack cannot deliver to them.
    pub other_targets: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Bucket {
    pub name: String,
    pub versioned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub method: String,
    pub path: String,
    /// The route sits behind the HTTP API's JWT authorizer.
    pub jwt: bool,
}

#[derive(Debug, Clone)]
pub struct S3Trigger {
    pub event_name: String,
    pub bucket: String,
    pub prefix: String,
}

/// An SQS event source: batches of the queue's messages, at most `max_concurrency`
/// invocations at once (`ScalingConfig.MaximumConcurrency`).
#[derive(Debug, Clone)]
pub struct SqsTrigger {
    pub event_name: String,
    /// The queue's name (`<stack>-<LogicalId>`).
    pub queue: String,
    pub batch_size: usize,
    pub max_concurrency: usize,
    /// `FunctionResponseTypes` has `ReportBatchItemFailures`.
    pub partial_failures: bool,
}

/// An SQS queue, created in the emulator under `name`.
#[derive(Debug, Clone)]
pub struct Queue {
    pub logical_id: String,
    pub name: String,
    pub visibility_timeout_seconds: i32,
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub event_name: String,
    pub every: Duration,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub logical_id: String,
    /// The cargo binary (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    pub timeout: Duration,
    pub memory_mb: u64,
    /// Globals' variables overlaid with the function's own, resolved.
    pub environment: BTreeMap<String, String>,
    pub routes: Vec<Route>,
    pub s3_triggers: Vec<S3Trigger>,
    pub schedules: Vec<Schedule>,
    pub sqs_triggers: Vec<SqsTrigger>,
    /// Retries of asynchronous invocations (`EventInvokeConfig.MaximumRetryAttempts`, AWS default 2).
    pub async_retries: u32,
}

pub struct Template {
    doc: Value,
    context: StackContext,
}

/// Renders `template.yaml` to JSON with cfn-lint's decoder in `python`.
pub fn render_yaml(python: &Path, script: &Path, template: &Path) -> Result<Value, TemplateError> {
    let output = std::process::Command::new(python)
        .arg(script)
        .arg(template)
        .output()
        .map_err(|e| {
            TemplateError::Read(format!(
                "running {} failed ({e}); run `make install` first",
                python.display()
            ))
        })?;
    if !output.status.success() {
        return Err(TemplateError::Read(format!(
            "{} {} failed: {}",
            python.display(),
            script.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    serde_json::from_slice(&output.stdout)
        .map_err(|e| TemplateError::Read(format!("the rendered template is not JSON: {e}")))
}

/// The template as JSON, for tools run from the repository root `root`: the file named by
/// `TEMPLATE_JSON` when set (`make test` renders it once for every test binary), otherwise
/// rendered now with the project's venv (from `make install`).
pub fn load(root: &Path) -> Result<Value, TemplateError> {
    if let Some(path) = std::env::var_os("TEMPLATE_JSON") {
        let text = std::fs::read(&path).map_err(|e| {
            TemplateError::Read(format!("TEMPLATE_JSON={}: {e}", Path::new(&path).display()))
        })?;
        return serde_json::from_slice(&text).map_err(|e| {
            TemplateError::Read(format!(
                "TEMPLATE_JSON={} is not JSON: {e}",
                Path::new(&path).display()
            ))
        });
    }
    render_yaml(
        &root.join(".local/venv/bin/python"),
        &root.join("local/scripts/template-json.py"),
        &root.join("template.yaml"),
    )
}

impl Template {
    pub fn new(doc: Value, context: StackContext) -> Self {
        Template { doc, context }
    }

    fn resources(&self) -> Result<&Map<String, Value>, TemplateError> {
        self.doc
            .get("Resources")
            .and_then(Value::as_object)
            .ok_or_else(|| shape("no Resources"))
    }

    fn resources_of<'a>(
        &'a self,
        kind: &'a str,
    ) -> Result<impl Iterator<Item = (&'a String, &'a Value)> + 'a, TemplateError> {
        Ok(self
            .resources()?
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind)))
    }

    /// Every DynamoDB table, named `<stack>-<LogicalId>`.
    pub fn tables(&self) -> Result<Vec<Table>, TemplateError> {
        self.resources_of("AWS::DynamoDB::Table")?
            .map(|(id, resource)| {
                Ok(Table {
                    logical_id: id.clone(),
                    name: self.physical_name(id)?,
                    properties: self.resolve(resource.get("Properties").unwrap_or(&Value::Null))?,
                })
            })
            .collect()
    }

    /// Every SQS queue, named `<stack>-<LogicalId>`.
    pub fn queues(&self) -> Result<Vec<Queue>, TemplateError> {
        self.resources_of("AWS::SQS::Queue")?
            .map(|(id, resource)| {
                let timeout = self.resolve(
                    resource
                        .pointer("/Properties/VisibilityTimeout")
                        .unwrap_or(&Value::Null),
                )?;
                Ok(Queue {
                    logical_id: id.clone(),
                    name: self.queue_name(id),
                    visibility_timeout_seconds: timeout
                        .as_i64()
                        .or_else(|| timeout.as_str().and_then(|t| t.parse().ok()))
                        .unwrap_or(30) as i32,
                })
            })
            .collect()
    }

    /// The names of the template's EventBridge buses.
    pub fn event_buses(&self) -> Result<Vec<String>, TemplateError> {
        self.resources_of("AWS::Events::EventBus")?
            .map(|(id, _)| self.physical_name(id))
            .collect()
    }

    /// Every rule with an event pattern on one of the template's buses.
    pub fn event_rules(&self) -> Result<Vec<EventRule>, TemplateError> {
        let queues: HashMap<String, String> = self
            .resources_of("AWS::SQS::Queue")?
            .map(|(id, _)| {
                let arn = self.get_att(id, "Arn")?;
                Ok((arn, self.queue_name(id)))
            })
            .collect::<Result<_, TemplateError>>()?;
        let mut rules = Vec::new();
        for (id, resource) in self.resources_of("AWS::Events::Rule")? {
            let properties = self.resolve(resource.get("Properties").unwrap_or(&Value::Null))?;
            let (Some(bus), Some(pattern)) = (
                properties.get("EventBusName").and_then(Value::as_str),
                properties.get("EventPattern"),
            ) else {
                continue;
            };
            let mut rule = EventRule {
                logical_id: id.clone(),
                name: format!("{}-{id}", self.context.stack_name),
                bus: bus.to_string(),
                pattern: pattern.clone(),
                queue_targets: Vec::new(),
                other_targets: Vec::new(),
            };
            for target in properties
                .get("Targets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let target_id = target.get("Id").and_then(Value::as_str).unwrap_or_default();
                let arn = target
                    .get("Arn")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                match queues.get(arn) {
                    Some(queue) => rule
                        .queue_targets
                        .push((target_id.to_string(), queue.clone())),
                    None => rule.other_targets.push(target_id.to_string()),
                }
            }
            rules.push(rule);
        }
        Ok(rules)
    }

    fn queue_name(&self, logical_id: &str) -> String {
        format!("{}-{logical_id}", self.context.stack_name)
    }

    /// The template's one S3 bucket.
    pub fn bucket(&self) -> Result<Bucket, TemplateError> {
        let mut buckets = self.resources_of("AWS::S3::Bucket")?;
        let (id, resource) = buckets.next().ok_or_else(|| shape("no AWS::S3::Bucket"))?;
        Ok(Bucket {
            name: self.physical_name(id)?,
            versioned: resource
                .pointer("/Properties/VersioningConfiguration/Status")
                .and_then(Value::as_str)
                == Some("Enabled"),
        })
    }

    pub fn functions(&self) -> Result<Vec<Function>, TemplateError> {
        let globals = self
            .doc
            .pointer("/Globals/Function")
            .cloned()
            .unwrap_or(Value::Null);
        self.resources_of("AWS::Serverless::Function")?
            .map(|(id, resource)| self.function(id, resource, &globals))
            .collect()
    }

    fn function(
        &self,
        id: &str,
        resource: &Value,
        globals: &Value,
    ) -> Result<Function, TemplateError> {
        let properties = resource.get("Properties").unwrap_or(&Value::Null);
        let setting = |name: &str| properties.get(name).or_else(|| globals.get(name));
        let binary = resource
            .pointer("/Metadata/BuildProperties/Binary")
            .and_then(Value::as_str)
            .ok_or_else(|| shape(format!("{id} has no Metadata.BuildProperties.Binary")))?
            .to_string();
        let mut environment = BTreeMap::new();
        for variables in [
            globals.pointer("/Environment/Variables"),
            properties.pointer("/Environment/Variables"),
        ]
        .into_iter()
        .flatten()
        {
            let variables = variables
                .as_object()
                .ok_or_else(|| shape(format!("{id}: Environment.Variables is not a map")))?;
            for (name, value) in variables {
                environment.insert(name.clone(), scalar_text(&self.resolve(value)?)?);
            }
        }
        let mut routes = Vec::new();
        let mut s3_triggers = Vec::new();
        let mut schedules = Vec::new();
        let mut sqs_triggers = Vec::new();
        if let Some(events) = properties.get("Events").and_then(Value::as_object) {
            for (event_name, event) in events {
                let props = self.resolve(event.get("Properties").unwrap_or(&Value::Null))?;
                let text = |name: &str| props.get(name).and_then(Value::as_str).map(str::to_string);
                match event.get("Type").and_then(Value::as_str) {
                    Some("HttpApi") => routes.push(Route {
                        method: text("Method")
                            .unwrap_or_else(|| "ANY".into())
                            .to_ascii_uppercase(),
                        path: text("Path")
                            .ok_or_else(|| shape(format!("{id}.{event_name} has no Path")))?,
                        jwt: props
                            .pointer("/Auth/Authorizer")
                            .and_then(Value::as_str)
                            .is_some_and(|a| a != "NONE"),
                    }),
                    Some("S3") => s3_triggers.push(S3Trigger {
                        event_name: event_name.clone(),
                        bucket: text("Bucket")
                            .ok_or_else(|| shape(format!("{id}.{event_name} has no Bucket")))?,
                        prefix: props
                            .pointer("/Filter/S3Key/Rules")
                            .and_then(Value::as_array)
                            .and_then(|rules| {
                                rules.iter().find(|r| {
                                    r.get("Name").and_then(Value::as_str) == Some("prefix")
                                })
                            })
                            .and_then(|r| r.get("Value").and_then(Value::as_str))
                            .unwrap_or("")
                            .to_string(),
                    }),
                    Some("Schedule") => schedules.push(Schedule {
                        event_name: event_name.clone(),
                        every: parse_rate(&text("Schedule").unwrap_or_default())
                            .map_err(|e| shape(format!("{id}.{event_name}: {e}")))?,
                    }),
                    // Rules on the bundle's event bus: offline, the functions log what they
                    // would put on the bus (no emulator delivers it), so nothing is
                    // subscribed; the schedules do the work (an import nudge's feed moves
                    // at the uploader's next tick).
                    Some("EventBridgeRule") => {}
                    Some("SQS") => {
                        let arn = text("Queue")
                            .ok_or_else(|| shape(format!("{id}.{event_name} has no Queue")))?;
                        let count = |pointer: &str, default: u64| {
                            props
                                .pointer(pointer)
                                .and_then(|v| {
                                    v.as_u64()
                                        .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
                                })
                                .unwrap_or(default) as usize
                        };
                        sqs_triggers.push(SqsTrigger {
                            event_name: event_name.clone(),
                            queue: arn.rsplit(':').next().unwrap_or(&arn).to_string(),
                            batch_size: count("/BatchSize", 10).clamp(1, 10),
                            // Lambda's default without a ScalingConfig is far higher; locally
                            // a handful is enough.
                            max_concurrency: count("/ScalingConfig/MaximumConcurrency", 5).max(1),
                            partial_failures: props
                                .get("FunctionResponseTypes")
                                .and_then(Value::as_array)
                                .is_some_and(|types| {
                                    types.iter().any(|t| t == "ReportBatchItemFailures")
                                }),
                        });
                    }
                    other => {
                        return Err(shape(format!(
                            "{id}.{event_name}: event type {other:?} is not run locally"
                        )));
                    }
                }
            }
        }
        let number = |name: &str, default: u64| match setting(name) {
            None => Ok(default),
            Some(v) => v
                .as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| shape(format!("{id}: {name} is not a number"))),
        };
        Ok(Function {
            logical_id: id.to_string(),
            binary,
            timeout: Duration::from_secs(number("Timeout", 3)?),
            memory_mb: number("MemorySize", 128)?,
            environment,
            routes,
            s3_triggers,
            schedules,
            sqs_triggers,
            async_retries: properties
                .pointer("/EventInvokeConfig/MaximumRetryAttempts")
                .and_then(Value::as_u64)
                .unwrap_or(2) as u32,
        })
    }

    /// What `Ref` gives for a resource here: tables `<stack>-<LogicalId>`, the secret its
    /// ARN, a bucket its `BucketName`.
    fn physical_name(&self, logical_id: &str) -> Result<String, TemplateError> {
        let resource = self
            .resources()?
            .get(logical_id)
            .ok_or_else(|| shape(format!("Ref to unknown resource {logical_id}")))?;
        let c = &self.context;
        Ok(match resource.get("Type").and_then(Value::as_str) {
            Some("AWS::S3::Bucket") => match resource.pointer("/Properties/BucketName") {
                Some(name) => scalar_text(&self.resolve(name)?)?,
                None => format!("{}-{}", c.stack_name, logical_id.to_ascii_lowercase()),
            },
            // AWS's queue URL; the emulator finds the queue by the name at its end.
            Some("AWS::SQS::Queue") => format!(
                "https://sqs.{}.amazonaws.com/{}/{}",
                c.region,
                c.account_id,
                self.queue_name(logical_id)
            ),
            // A bus's Ref is its name.
            Some("AWS::Events::EventBus") => match resource.pointer("/Properties/Name") {
                Some(name) => scalar_text(&self.resolve(name)?)?,
                None => format!("{}-{logical_id}", c.stack_name),
            },
            Some("AWS::SecretsManager::Secret") => format!(
                "arn:aws:secretsmanager:{}:{}:secret:{}-{logical_id}",
                c.region, c.account_id, c.stack_name
            ),
            _ => format!("{}-{logical_id}", c.stack_name),
        })
    }

    fn get_att(&self, logical_id: &str, attribute: &str) -> Result<String, TemplateError> {
        let c = &self.context;
        let is_queue = self
            .resources()?
            .get(logical_id)
            .and_then(|r| r.get("Type"))
            .and_then(Value::as_str)
            == Some("AWS::SQS::Queue");
        if is_queue {
            let name = self.queue_name(logical_id);
            return Ok(match attribute {
                "Arn" => format!("arn:aws:sqs:{}:{}:{name}", c.region, c.account_id),
                _ => name,
            });
        }
        let name = self.physical_name(logical_id)?;
        Ok(match attribute {
            "Arn" => format!("arn:aws:local:{}:{}:{name}", c.region, c.account_id),
            other => format!("arn:aws:local:{}:{}:{name}/{other}", c.region, c.account_id),
        })
    }

    fn reference(&self, name: &str) -> Result<String, TemplateError> {
        let c = &self.context;
        match name {
            "AWS::StackName" => return Ok(c.stack_name.clone()),
            "AWS::AccountId" => return Ok(c.account_id.clone()),
            "AWS::Region" => return Ok(c.region.clone()),
            "AWS::Partition" => return Ok("aws".into()),
            "AWS::URLSuffix" => return Ok("amazonaws.com".into()),
            _ => {}
        }
        if let Some(parameter) = self.doc.pointer(&format!("/Parameters/{name}")) {
            if let Some(value) = c.parameters.get(name) {
                return Ok(value.clone());
            }
            return match parameter.get("Default") {
                Some(default) => scalar_text(default),
                None => Err(shape(format!(
                    "parameter {name} has no Default; pass a value"
                ))),
            };
        }
        self.physical_name(name)
    }

    fn substitute(
        &self,
        text: &str,
        variables: &Map<String, Value>,
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| shape(format!("unclosed ${{ in !Sub {text:?}")))?;
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = variables.get(name) {
                out.push_str(&scalar_text(&self.resolve(value)?)?);
            } else if let Some((resource, attribute)) = name.split_once('.') {
                out.push_str(&self.get_att(resource, attribute)?);
            } else {
                out.push_str(&self.reference(name)?);
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// `value` with every intrinsic function replaced by its local value.
    pub fn resolve(&self, value: &Value) -> Result<Value, TemplateError> {
        match value {
            Value::Object(map) if map.len() == 1 => {
                let (key, argument) = map.iter().next().expect("one entry");
                match key.as_str() {
                    "Ref" => {
                        let name = argument
                            .as_str()
                            .ok_or_else(|| shape("Ref of a non-string"))?;
                        Ok(Value::String(self.reference(name)?))
                    }
                    "Fn::Sub" => {
                        let (text, variables) = match argument {
                            Value::String(text) => (text.as_str(), Map::new()),
                            Value::Array(parts) if parts.len() == 2 => (
                                parts[0].as_str().ok_or_else(|| shape("Fn::Sub text"))?,
                                parts[1].as_object().cloned().unwrap_or_default(),
                            ),
                            _ => return Err(shape("malformed Fn::Sub")),
                        };
                        Ok(Value::String(self.substitute(text, &variables)?))
                    }
                    "Fn::GetAtt" => {
                        let parts: Vec<&str> = match argument {
                            Value::Array(parts) => parts.iter().filter_map(Value::as_str).collect(),
                            Value::String(text) => text.splitn(2, '.').collect(),
                            _ => Vec::new(),
                        };
                        match parts.as_slice() {
                            [resource, attribute] => {
                                Ok(Value::String(self.get_att(resource, attribute)?))
                            }
                            _ => Err(shape("malformed Fn::GetAtt")),
                        }
                    }
                    _ => Ok(Value::Object(
                        std::iter::once(Ok((key.clone(), self.resolve(argument)?)))
                            .collect::<Result<_, TemplateError>>()?,
                    )),
                }
            }
            Value::Object(map) => Ok(Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve(v)?)))
                    .collect::<Result<_, TemplateError>>()?,
            )),
            Value::Array(items) => Ok(Value::Array(
                items
                    .iter()
                    .map(|v| self.resolve(v))
                    .collect::<Result<_, _>>()?,
            )),
            other => Ok(other.clone()),
        }
    }
}

fn scalar_text(value: &Value) -> Result<String, TemplateError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Array(items) => Ok(items
            .iter()
            .map(scalar_text)
            .collect::<Result<Vec<_>, _>>()?
            .join(",")),
        other => Err(shape(format!("{other} is not a scalar value"))),
    }
}

/// `rate(1 minute)`, `rate(5 minutes)`, `rate(2 hours)`, `rate(1 day)`.
pub fn parse_rate(expression: &str) -> Result<Duration, String> {
    let inner = expression
        .strip_prefix("rate(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(|| format!("only rate(...) schedules run locally, not {expression:?}"))?;
    let (count, unit) = inner
        .trim()
        .split_once(' ')
        .ok_or_else(|| format!("malformed schedule {expression:?}"))?;
    let count: u64 = count
        .parse()
        .map_err(|_| format!("malformed schedule {expression:?}"))?;
    let seconds = match unit.trim() {
        "minute" | "minutes" => 60,
        "hour" | "hours" => 3600,
        "day" | "days" => 86_400,
        other => return Err(format!("unknown unit {other:?} in {expression:?}")),
    };
    Ok(Duration::from_secs(count * seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context() -> StackContext {
        StackContext {
            stack_name: "acb-local".into(),
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            parameters: HashMap::from([("Level".to_string(), "debug".to_string())]),
        }
    }

    fn template() -> Template {
        Template::new(
            json!({
                "Parameters": {
                    "Level": {"Type": "String", "Default": "info"},
                    "Interval": {"Type": "Number", "Default": 900},
                    "Audience": {"Type": "CommaDelimitedList", "Default": "a,b"}
                },
                "Globals": {"Function": {"Timeout": 20, "MemorySize": 256,
                    "Environment": {"Variables": {"RUST_LOG": {"Ref": "Level"}, "SHARED": "g"}}}},
                "Resources": {
                    "Orders": {"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": []}},
                    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "${AWS::StackName}-catalog-${AWS::AccountId}"}}},
                    "Fn": {"Type": "AWS::Serverless::Function",
                        "Metadata": {"BuildProperties": {"Binary": "fn-bin"}},
                        "Properties": {"Timeout": 900,
                            "Environment": {"Variables": {"SHARED": "own", "TABLE": {"Ref": "Orders"},
                                "INTERVAL": {"Ref": "Interval"}, "ARN": {"Fn::Sub": "${Orders.Arn}/index/*"},
                                "N": 960}},
                            "Events": {
                                "Api": {"Type": "HttpApi", "Properties": {"Method": "post", "Path": "/a", "Auth": {"Authorizer": "Jwt"}}},
                                "Open": {"Type": "HttpApi", "Properties": {"Method": "POST", "Path": "/b"}},
                                "Drop": {"Type": "S3", "Properties": {"Bucket": {"Ref": "Bucket"}, "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "incoming/"}]}}}},
                                "Tick": {"Type": "Schedule", "Properties": {"Schedule": "rate(1 minute)"}}
                            }}}
                }
            }),
            context(),
        )
    }

    #[test]
    fn a_bus_is_named_by_its_name_and_its_rules_keep_their_queue_targets() {
        let template = Template::new(
            json!({"Resources": {
                "Bus": {"Type": "AWS::Events::EventBus",
                    "Properties": {"Name": {"Fn::Sub": "${AWS::StackName}-orders"}}},
                "Feed": {"Type": "AWS::SQS::Queue"},
                "Nudges": {"Type": "AWS::Events::Rule", "Properties": {
                    "EventBusName": {"Ref": "Bus"},
                    "EventPattern": {"source": [{"Fn::Sub": "app.${AWS::StackName}"}]},
                    "Targets": [
                        {"Id": "ToFeed", "Arn": {"Fn::GetAtt": ["Feed", "Arn"]}},
                        {"Id": "ToLambda", "Arn": "arn:aws:lambda:us-east-1:1:function:x"}
                    ]}},
                "Tick": {"Type": "AWS::Events::Rule",
                    "Properties": {"ScheduleExpression": "rate(1 minute)"}}
            }}),
            context(),
        );
        assert_eq!(template.event_buses().unwrap(), ["acb-local-orders"]);
        assert_eq!(
            template.event_rules().unwrap(),
            [EventRule {
                logical_id: "Nudges".into(),
                name: "acb-local-Nudges".into(),
                bus: "acb-local-orders".into(),
                pattern: json!({"source": ["app.acb-local"]}),
                queue_targets: vec![("ToFeed".into(), "acb-local-Feed".into())],
                other_targets: vec!["ToLambda".into()],
            }],
            "the schedule is not a bus rule"
        );
    }

    #[test]
    fn functions_resolve_environment_events_and_settings() {
        let functions = template().functions().unwrap();
        let f = &functions[0];
        assert_eq!(f.binary, "fn-bin");
        assert_eq!(f.timeout, Duration::from_secs(900));
        assert_eq!(f.memory_mb, 256);
        let env = &f.environment;
        assert_eq!(env["RUST_LOG"], "debug", "an override beats the Default");
        assert_eq!(
            env["SHARED"], "own",
            "the function's own variable beats Globals"
        );
        assert_eq!(env["TABLE"], "acb-local-Orders");
        assert_eq!(env["INTERVAL"], "900");
        assert_eq!(env["N"], "960");
        assert_eq!(
            env["ARN"],
            "arn:aws:local:us-east-1:000000000000:acb-local-Orders/index/*"
        );
        assert!(
            template().resolve(&json!({"Fn::Sub": "${X}"})).is_err(),
            "unknown names are errors"
        );
        assert_eq!(
            f.routes,
            vec![
                Route {
                    method: "POST".into(),
                    path: "/a".into(),
                    jwt: true
                },
                Route {
                    method: "POST".into(),
                    path: "/b".into(),
                    jwt: false
                }
            ]
        );
        assert_eq!(f.s3_triggers[0].bucket, "acb-local-catalog-000000000000");
        assert_eq!(f.s3_triggers[0].prefix, "incoming/");
        assert_eq!(f.schedules[0].every, Duration::from_secs(60));
        assert_eq!(
            template().bucket().unwrap().name,
            "acb-local-catalog-000000000000"
        );
        assert_eq!(template().tables().unwrap()[0].name, "acb-local-Orders");
    }

    #[test]
    fn literal_dollar_braces_survive_sub() {
        let t = template();
        let value = t
            .resolve(&json!({"Fn::Sub": ["${!Literal}-${X}", {"X": {"Ref": "Audience"}}]}))
            .unwrap();
        assert_eq!(value, json!("${Literal}-a,b"));
    }

    #[test]
    fn rates_parse_and_cron_is_refused() {
        assert_eq!(
            parse_rate("rate(5 minutes)").unwrap(),
            Duration::from_secs(300)
        );
        assert_eq!(
            parse_rate("rate(1 day)").unwrap(),
            Duration::from_secs(86_400)
        );
        assert!(
            parse_rate("cron(0 12 * * ? *)")
                .unwrap_err()
                .contains("rate")
        );
        assert!(parse_rate("rate(x minutes)").is_err());
    }

    #[test]
    fn queues_and_their_event_sources_are_read() {
        let template = Template::new(
            json!({
                "Resources": {
                    "Due": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 5400}},
                    "Worker": {
                        "Type": "AWS::Serverless::Function",
                        "Metadata": {"BuildProperties": {"Binary": "worker"}},
                        "Properties": {
                            "Environment": {"Variables": {"QUEUE": {"Ref": "Due"}}},
                            "Events": {"Work": {"Type": "SQS", "Properties": {
                                "Queue": {"Fn::GetAtt": ["Due", "Arn"]},
                                "BatchSize": 7,
                                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                                "ScalingConfig": {"MaximumConcurrency": 3}
                            }}}
                        }
                    }
                }
            }),
            context(),
        );
        let queues = template.queues().unwrap();
        assert_eq!(queues.len(), 1);
        assert_eq!(queues[0].name, "acb-local-Due");
        assert_eq!(queues[0].visibility_timeout_seconds, 5400);
        let worker = template.functions().unwrap().remove(0);
        assert_eq!(
            worker.environment["QUEUE"],
            "https://sqs.us-east-1.amazonaws.com/000000000000/acb-local-Due"
        );
        let trigger = &worker.sqs_triggers[0];
        assert_eq!(
            (
                trigger.queue.as_str(),
                trigger.batch_size,
                trigger.max_concurrency
            ),
            ("acb-local-Due", 7, 3)
        );
        assert!(trigger.partial_failures);
    }
}
