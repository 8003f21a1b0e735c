//! `acb catalog validate` as an operator runs it: exit statuses and the JSON report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/tests/fixtures/catalog")
        .join(name)
}

fn acb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(args)
        .output()
        .expect("run acb")
}

fn validate_json(path: &Path, extra: &[&str]) -> (i32, Value) {
    let path = path.to_string_lossy();
    let mut args = vec!["catalog", "validate", path.as_ref(), "--format", "json"];
    args.extend_from_slice(extra);
    let out = acb(&args);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

/// A scratch directory of this test's own, so tests run in parallel.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("acb-catalog-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

#[test]
fn a_valid_file_exits_0() {
    let (status, json) = validate_json(&fixture("product_valid.csv"), &[]);
    assert_eq!(status, 0, "{json:#}");
    assert_eq!(json["fatal"], Value::Null);
    assert_eq!(json["errors"], Value::Array(vec![]));
    assert_eq!(json["rows"], 10);
    assert_eq!(json["feed"], "product");
}

#[test]
fn row_errors_exit_1_with_line_id_column_and_message() {
    let (status, json) = validate_json(&fixture("product_bad_rows.csv"), &[]);
    assert_eq!(status, 1, "{json:#}");
    assert_eq!(json["fatal"], Value::Null);
    assert_eq!(json["rows"], 7);
    let errors = json["errors"].as_array().expect("errors array");
    assert!(!errors.is_empty());
    for e in errors {
        let keys: Vec<&str> = e
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["column", "id", "line", "message"], "{e}");
        assert!(e["line"].as_u64().is_some_and(|l| l >= 2));
        assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let price = errors
        .iter()
        .find(|e| e["column"] == "price")
        .expect("a price error");
    assert_eq!(price["line"], 3);
    assert_eq!(price["id"], "BAD-PRICE");
    // The row with the wrong number of fields has no single column at fault.
    assert!(
        errors
            .iter()
            .any(|e| e["line"] == 6 && e["column"].is_null())
    );
}

#[test]
fn a_rejected_file_exits_2_with_the_reason() {
    let (status, json) = validate_json(&fixture("product_missing_column.csv"), &[]);
    assert_eq!(status, 2, "{json:#}");
    let fatal = json["fatal"].as_str().expect("fatal message");
    assert!(fatal.contains("price"), "{fatal}");
    assert_eq!(json["errors"], Value::Array(vec![]));

    let (status, json) = validate_json(Path::new("/nonexistent/catalog.csv"), &[]);
    assert_eq!(status, 2);
    assert!(
        json["fatal"]
            .as_str()
            .is_some_and(|f| f.contains("could not be read"))
    );
}

#[test]
fn the_feed_comes_from_the_path_unless_given() {
    let dir = scratch("feed").join("inventory");
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("stock.csv");
    std::fs::copy(fixture("inventory.csv"), &path).expect("copy");
    let (status, json) = validate_json(&path, &[]);
    assert_eq!(
        (status, json["feed"].as_str()),
        (0, Some("inventory")),
        "{json:#}"
    );
    // Read as a product feed it lacks the product columns.
    let (status, _) = validate_json(&path, &["--feed", "product"]);
    assert_eq!(status, 2);
    let (status, _) = validate_json(&fixture("promotion.csv"), &["--feed", "promotion"]);
    assert_eq!(status, 0);
    let out = acb(&["catalog", "validate", "x.csv", "--feed", "prices"]);
    assert_eq!(out.status.code(), Some(2), "clap rejects an unknown feed");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown feed"));
}

#[test]
fn text_output_summarises_and_lists_errors() {
    let path = fixture("product_bad_rows.csv");
    let out = acb(&["catalog", "validate", &path.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("7 rows, 5 with errors"), "{text}");
    assert!(text.contains("line 3 [BAD-PRICE]: price:"), "{text}");
    assert!(text.contains("accepted with row errors"), "{text}");

    let path = fixture("product_valid.tsv");
    let out = acb(&[
        "catalog",
        "validate",
        &path.to_string_lossy(),
        "--format",
        "text",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("OK"));
}

#[test]
fn errors_csv_gets_the_failed_rows() {
    let out_path = scratch("errors").join("validation.csv");
    let path = fixture("product_bad_rows.csv");
    let (status, _) = validate_json(&path, &["--errors-csv", &out_path.to_string_lossy()]);
    assert_eq!(status, 1);
    let written = std::fs::read_to_string(&out_path).expect("error file");
    let mut lines = written.lines();
    assert!(
        lines
            .next()
            .is_some_and(|h| h.starts_with("validation_error,id,title,"))
    );
    assert_eq!(lines.count(), 5);
}

#[test]
fn the_events_subcommand_is_still_there() {
    let out = acb(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("events") && help.contains("catalog"),
        "{help}"
    );
}

#[test]
fn json_is_a_shorthand_for_format_json_and_keeps_the_exit_status() {
    for (name, status) in [
        ("product_valid.csv", 0),
        ("product_bad_rows.csv", 1),
        ("product_missing_column.csv", 2),
    ] {
        let path = fixture(name);
        let path = path.to_string_lossy();
        let (format_status, format_json) = validate_json(Path::new(path.as_ref()), &[]);
        let out = acb(&["catalog", "validate", &path, "--json"]);
        assert_eq!(out.status.code(), Some(status), "{name}");
        assert_eq!(format_status, status, "{name}");
        let json: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
        assert_eq!(json, format_json, "{name}: --json and --format json differ");
    }
    // Asking for both text and JSON is a usage error, not a silent pick.
    let path = fixture("product_valid.csv");
    let out = acb(&[
        "catalog",
        "validate",
        &path.to_string_lossy(),
        "--json",
        "--format",
        "text",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

/// Tests run with stderr on a pipe, as scripts and CI do: no bar may appear there, and
/// --no-progress changes nothing.
#[test]
fn without_a_terminal_the_output_is_the_same_as_before_progress_bars() {
    let dir = scratch("no-tty");
    let path = dir.join("big.csv");
    let mut body = String::from("id,title,description,link,image_link,availability,price\n");
    // Several of the validator's 64 KiB reads.
    for i in 0..20_000 {
        body.push_str(&format!(
            "SKU-{i},Mug {i},A mug,https://example.com/{i},https://example.com/{i}.jpg,in_stock,12.00 USD\n"
        ));
    }
    std::fs::write(&path, &body).unwrap();
    let path = path.to_string_lossy();
    for format in [&["--format", "text"][..], &["--json"]] {
        let mut args = vec!["catalog", "validate", path.as_ref()];
        args.extend_from_slice(format);
        let plain = acb(&args);
        args.push("--no-progress");
        let quiet = acb(&args);
        assert!(
            plain.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&plain.stderr)
        );
        assert!(quiet.stderr.is_empty());
        assert_eq!(plain.stdout, quiet.stdout);
        assert_eq!(plain.status.code(), quiet.status.code());
        assert!(!plain.stdout.is_empty());
    }
    let _ = std::fs::remove_dir_all(dir);
}
