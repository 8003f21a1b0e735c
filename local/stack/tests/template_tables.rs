//! The tables the tests create (`shared::store::schema`) and the ones `template.yaml`
//! deploys (and `make run` creates) must be the same: keys, indexes, TTL, streams.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use local_stack::template::{StackContext, Template, render_yaml};
use serde_json::Value;
use shared::store::schema;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn template() -> Template {
    let root = repo_root();
    let doc = render_yaml(
        &root.join(".local/venv/bin/python"),
        &root.join("local/scripts/template-json.py"),
        &root.join("template.yaml"),
    )
    .expect("template.yaml renders (the venv comes from `make install`)");
    Template::new(
        doc,
        StackContext {
            stack_name: "t".into(),
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            parameters: HashMap::new(),
        },
    )
}

fn hash_and_range(key_schema: &Value) -> (Option<String>, Option<String>) {
    let find = |kind: &str| {
        key_schema.as_array().and_then(|keys| {
            keys.iter()
                .find(|k| k["KeyType"] == kind)
                .and_then(|k| k["AttributeName"].as_str().map(str::to_string))
        })
    };
    (find("HASH"), find("RANGE"))
}

#[test]
fn schema_specs_match_the_template_tables() {
    let tables = template().tables().unwrap();
    let mut template_ids: Vec<&str> = tables.iter().map(|t| t.logical_id.as_str()).collect();
    let mut spec_ids: Vec<&str> = schema::ALL.iter().map(|s| s.logical_id).collect();
    template_ids.sort();
    spec_ids.sort();
    assert_eq!(template_ids, spec_ids, "the same tables on both sides");

    for spec in schema::ALL {
        let table = tables
            .iter()
            .find(|t| t.logical_id == spec.logical_id)
            .unwrap();
        let p = &table.properties;
        assert_eq!(
            hash_and_range(&p["KeySchema"]),
            (
                Some(spec.partition_key.to_string()),
                spec.sort_key.map(str::to_string)
            ),
            "{} keys",
            spec.logical_id
        );
        let indexes: Vec<(String, Option<String>, String)> = p["GlobalSecondaryIndexes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                (
                    i["IndexName"].as_str().unwrap_or_default().to_string(),
                    hash_and_range(&i["KeySchema"]).0,
                    i["Projection"]["ProjectionType"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .collect();
        let expected: Vec<(String, Option<String>, String)> = spec
            .indexes
            .iter()
            .map(|i| {
                (
                    i.name.to_string(),
                    Some(i.partition_key.to_string()),
                    "KEYS_ONLY".to_string(),
                )
            })
            .collect();
        assert_eq!(indexes, expected, "{} indexes", spec.logical_id);
        let ttl = p["TimeToLiveSpecification"]["AttributeName"].as_str();
        assert_eq!(ttl, spec.ttl_attribute, "{} TTL", spec.logical_id);
        assert_eq!(
            p["StreamSpecification"].is_object(),
            spec.stream,
            "{} stream",
            spec.logical_id
        );
        assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "{}", spec.logical_id);
    }
}

#[test]
fn every_function_binary_is_a_workspace_binary() {
    let root = repo_root();
    let functions = template().functions().unwrap();
    assert_eq!(functions.len(), 5);
    for function in functions {
        let crate_dir = root.join("functions").join(&function.binary);
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap_or_else(|_| {
            panic!(
                "{}: no crate at {}",
                function.logical_id,
                crate_dir.display()
            )
        });
        assert!(
            manifest.contains(&format!("name = \"{}\"", function.binary)),
            "{} names binary {} which {} does not build",
            function.logical_id,
            function.binary,
            Path::new("functions").join(&function.binary).display()
        );
        assert!(
            !function.routes.is_empty()
                || !function.s3_triggers.is_empty()
                || !function.schedules.is_empty()
        );
    }
}
