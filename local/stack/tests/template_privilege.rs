//! Least privilege in `template.yaml`: each function is given, and may read, only the Stripe
//! secrets its code uses (one Secrets Manager secret per value); the webhooks function never
//! writes merchants' files; reserved concurrency is optional.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

fn doc() -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    sam_template::load(&root).expect("template.yaml renders (the venv comes from `make install`)")
}

/// The secrets each function's code reads (functions/*/src, shared/src/hooks/keys.rs).
fn expected() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    BTreeMap::from([
        (
            "WebhooksFunction",
            BTreeSet::from([
                "STRIPE_SECRET_KEY",
                "STRIPE_WEBHOOK_SECRETS",
                "STRIPE_THIN_EVENT_SECRETS",
            ]),
        ),
        (
            "CustomizeCheckoutFunction",
            BTreeSet::from(["STRIPE_HOOK_SECRETS"]),
        ),
        (
            "FinalizeCheckoutFunction",
            BTreeSet::from(["STRIPE_HOOK_SECRETS"]),
        ),
        (
            "CatalogUploaderFunction",
            BTreeSet::from(["STRIPE_SECRET_KEY"]),
        ),
        (
            "AccountSessionFunction",
            BTreeSet::from(["STRIPE_SECRET_KEY"]),
        ),
        (
            "OrderReconcilerFunction",
            BTreeSet::from(["STRIPE_SECRET_KEY"]),
        ),
    ])
}

fn reference(value: &Value) -> String {
    value
        .get("Ref")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("expected a Ref, found {value}"))
        .to_string()
}

fn statements(function: &Value) -> Vec<Value> {
    function
        .pointer("/Properties/Policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| p.get("Statement").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect()
}

fn actions(statement: &Value) -> Vec<String> {
    match statement.get("Action") {
        Some(Value::String(a)) => vec![a.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

fn resources(statement: &Value) -> Vec<Value> {
    match statement.get("Resource") {
        Some(Value::Array(r)) => r.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    }
}

#[test]
fn each_function_names_and_may_read_only_the_secrets_it_uses() {
    let doc = doc();
    let resources_map = doc["Resources"].as_object().unwrap();
    let globals = doc
        .pointer("/Globals/Function/Environment/Variables")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    assert!(
        globals
            .keys()
            .all(|k| !k.ends_with("_SECRET_ID") && k != "SECRETS_ID"),
        "no secret is given to every function: {globals:?}"
    );
    for (id, wanted) in expected() {
        let function = &resources_map[id];
        let variables = function
            .pointer("/Properties/Environment/Variables")
            .and_then(Value::as_object)
            .unwrap();
        let mut given = BTreeSet::new();
        let mut secret_resources = BTreeSet::new();
        for (name, value) in variables {
            if let Some(setting) = name.strip_suffix("_SECRET_ID") {
                given.insert(setting.to_string());
                let logical = reference(value);
                assert_eq!(
                    resources_map[&logical]["Type"], "AWS::SecretsManager::Secret",
                    "{id}.{name}"
                );
                secret_resources.insert(logical);
            }
        }
        let wanted: BTreeSet<String> = wanted.iter().map(|s| s.to_string()).collect();
        assert_eq!(given, wanted, "{id}: secrets named in its environment");

        let readable: BTreeSet<String> = statements(function)
            .iter()
            .filter(|s| actions(s).iter().any(|a| a.starts_with("secretsmanager:")))
            .inspect(|s| {
                assert_eq!(
                    actions(s),
                    vec!["secretsmanager:GetSecretValue".to_string()],
                    "{id}: only GetSecretValue"
                )
            })
            .flat_map(|s| resources(s).iter().map(reference).collect::<Vec<_>>())
            .collect();
        assert_eq!(
            readable, secret_resources,
            "{id}: GetSecretValue on exactly its secrets"
        );
    }
}

#[test]
fn one_secret_per_value_created_empty() {
    let doc = doc();
    let secrets: Vec<(&String, &Value)> = doc["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::SecretsManager::Secret")
        .collect();
    assert_eq!(secrets.len(), 4, "one secret per Stripe value");
    for (id, secret) in secrets {
        let properties = &secret["Properties"];
        assert!(
            properties.get("SecretString").is_none()
                && properties.get("GenerateSecretString").is_none(),
            "{id}: created without a value, so a deploy never overwrites the operator's"
        );
        let output = format!("{id}Arn");
        assert_eq!(
            reference(&doc["Outputs"][&output]["Value"]),
            *id,
            "output {output} names the secret to fill"
        );
    }
}

#[test]
fn the_webhooks_function_has_no_bucket_access_and_import_events_reach_the_uploader_by_the_bus() {
    let doc = doc();
    for statement in statements(&doc["Resources"]["WebhooksFunction"]) {
        let s3: Vec<String> = actions(&statement)
            .into_iter()
            .filter(|a| a.starts_with("s3:"))
            .collect();
        assert!(
            s3.is_empty(),
            "webhooks may {s3:?}: import events only nudge"
        );
    }
    // The nudges go from the bus to the uploader's feed queue...
    let rule = &doc["Resources"]["ImportChangedRule"];
    assert_eq!(
        rule["Properties"]["EventPattern"]["detail-type"],
        serde_json::json!(["catalog.import.changed"])
    );
    assert_eq!(
        reference(&rule["Properties"]["EventBusName"]),
        "OrderEventBus"
    );
    let target = &rule["Properties"]["Targets"][0]["Arn"];
    assert_eq!(target["Fn::GetAtt"][0], "CatalogFeedQueue", "{target}");
    // ...which the uploader consumes, at a bounded concurrency that is also the number
    // of instances its Stripe rate is split over (so the shares add up to the whole).
    let uploader = &doc["Resources"]["CatalogUploaderFunction"]["Properties"];
    let source = uploader["Events"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, e)| e)
        .find(|e| e["Type"] == "SQS")
        .expect("the uploader consumes a queue");
    assert_eq!(
        source["Properties"]["Queue"]["Fn::GetAtt"][0],
        "CatalogFeedQueue"
    );
    let bound = reference(&source["Properties"]["ScalingConfig"]["MaximumConcurrency"]);
    assert_eq!(bound, "UploaderQueueConcurrency");
    let variables = &uploader["Environment"]["Variables"];
    assert_eq!(reference(&variables["STRIPE_RATE_LIMIT_INSTANCES"]), bound);
    assert_eq!(reference(&variables["FEED_QUEUE_URL"]), "CatalogFeedQueue");
    assert!(
        !uploader["Events"]
            .as_object()
            .into_iter()
            .flatten()
            .any(|(_, e)| e["Type"] == "EventBridgeRule"),
        "nudges come through the queue, not straight from the bus"
    );
}

#[test]
fn the_webhooks_function_never_writes_under_incoming() {
    let doc = doc();
    for statement in statements(&doc["Resources"]["WebhooksFunction"]) {
        let writes = actions(&statement)
            .iter()
            .any(|a| a == "s3:PutObject" || a == "s3:*" || a == "s3:DeleteObject");
        if writes {
            for resource in resources(&statement) {
                let text = resource.to_string();
                assert!(
                    !text.contains("incoming/") && !text.contains("}/*"),
                    "webhooks may write {text}"
                );
            }
        }
    }
}

#[test]
fn reserved_concurrency_is_optional_and_log_levels_are_listed() {
    let doc = doc();
    for (function, parameter) in [
        ("CatalogUploaderFunction", "UploaderReservedConcurrency"),
        ("CustomizeCheckoutFunction", "HooksReservedConcurrency"),
        ("FinalizeCheckoutFunction", "HooksReservedConcurrency"),
        ("WebhooksFunction", "WebhooksReservedConcurrency"),
    ] {
        let value = &doc["Resources"][function]["Properties"]["ReservedConcurrentExecutions"];
        let branches = value["Fn::If"].as_array().unwrap_or_else(|| {
            panic!("{function}: ReservedConcurrentExecutions behind a condition, found {value}")
        });
        assert_eq!(reference(&branches[1]), parameter, "{function}");
        assert_eq!(reference(&branches[2]), "AWS::NoValue", "{function}");
        let pattern = doc["Parameters"][parameter]["AllowedPattern"]
            .as_str()
            .unwrap();
        assert!(
            pattern.contains("|-1|0|"),
            "{parameter}: unset values allowed"
        );
    }
    let level = &doc["Parameters"]["LogLevel"];
    let allowed: Vec<&str> = level["AllowedValues"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(allowed.contains(&level["Default"].as_str().unwrap()));
    for l in ["error", "warn", "info", "debug", "trace"] {
        assert!(allowed.contains(&l), "{l}");
    }
}
