//! `--help` says something useful everywhere: where settings come from, what each argument
//! is, and that every command printing a result takes --json. No services needed.

use std::process::Command;

/// `acb ARGS --help`, with none of the settings a shell may have exported.
fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(args)
        .arg("--help")
        .env_remove("STRIPE_SIGNING_SECRET")
        .output()
        .expect("run acb");
    assert!(output.status.success(), "acb {args:?} --help failed");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The help text of one argument: what follows `spec` on its line, or the next line when
/// clap puts it there.
fn doc<'a>(text: &'a str, spec: &str) -> &'a str {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        let trimmed = trimmed.strip_prefix("-h, ").unwrap_or(trimmed);
        if let Some(rest) = trimmed.strip_prefix(spec) {
            let rest = rest.trim();
            return if rest.is_empty() {
                lines.next().unwrap_or("").trim()
            } else {
                rest
            };
        }
    }
    panic!("no {spec:?} in:\n{text}")
}

fn assert_mentions(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "{w:?} is missing from:\n{text}");
    }
}

#[test]
fn top_level_help_says_where_settings_come_from() {
    let text = help(&[]);
    assert_mentions(
        &text,
        &[
            "--table",
            "MERCHANTS_TABLE",
            "ORDERS_TABLE",
            "CATALOG_TABLE",
            "AGREEMENTS_TABLE",
            "CATALOG_BUCKET",
            "DYNAMODB_ENDPOINT",
            "S3_ENDPOINT",
            "AWS_REGION",
            "STRIPE_SECRET_KEY",
            "STRIPE_API_BASE",
            "source .local/run/stack/stack.env",
            "make run",
            "--json",
        ],
    );
    assert_eq!(doc(&text, "--help"), "Print help");
    for group in [
        "merchants",
        "catalog",
        "orders",
        "agreements",
        "dead-letters",
        "simulate",
        "events",
    ] {
        assert!(text.contains(&format!("  {group} ")), "{group}: {text}");
    }
}

#[test]
fn merchants_help_documents_every_argument() {
    assert_mentions(
        &help(&["merchants", "put"]),
        &[
            "MERCHANTS_TABLE",
            "DynamoDB endpoint, for DynamoDB Local; unset uses AWS with your credentials",
            "Print JSON instead of the human-readable text",
        ],
    );
    let put = help(&["merchants", "put"]);
    assert_eq!(
        doc(&put, "<ACCOUNT>"),
        "The merchant's connected account, acct_…"
    );
    assert!(
        doc(&put, "--name <NAME>").starts_with("Display name"),
        "{put}"
    );
    assert!(
        doc(&put, "--checkout-settings <FILE>").contains("JSON file"),
        "{put}"
    );
    for flag in [
        "--enabled <ENABLED>",
        "--api <API>",
        "--validation <VALIDATION>",
    ] {
        assert!(!doc(&put, flag).is_empty(), "{flag}: {put}");
    }
    assert_eq!(
        doc(&help(&["merchants", "list"]), "--limit <LIMIT>"),
        "Merchants per page (1 to 1000) [default: 100]"
    );
    for command in ["get", "pause", "resume"] {
        let text = help(&["merchants", command]);
        assert_eq!(
            doc(&text, "<ACCOUNT>"),
            "The merchant's connected account, acct_…"
        );
        assert_eq!(
            doc(&text, "--json"),
            "Print JSON instead of the human-readable text"
        );
    }
}

#[test]
fn orders_help_explains_amounts_and_sessions() {
    let refund = help(&["orders", "refund"]);
    assert_eq!(
        doc(&refund, "<CHECKOUT_SESSION>"),
        "The order's checkout session, cs_…"
    );
    assert_eq!(
        doc(&refund, "--amount <AMOUNT>"),
        "How much to refund, in minor units, e.g. 500 = 5.00 USD; default: what is left to refund"
    );
    assert_mentions(
        &refund,
        &[
            "charge.refunded",
            "STRIPE_SECRET_KEY",
            "ORDERS_TABLE",
            "--json",
        ],
    );
    assert_mentions(
        &help(&["orders", "capture"]),
        &["payment_intent.succeeded", "STRIPE_SECRET_KEY", "cs_…"],
    );
    let list = help(&["orders", "list"]);
    assert_eq!(
        doc(&list, "--limit <LIMIT>"),
        "Orders per page (1 to 1000) [default: 50]"
    );
    assert_eq!(
        doc(&list, "<ACCOUNT>"),
        "The merchant's connected account, acct_…"
    );
    assert_mentions(&help(&["orders", "show"]), &["cs_…", "--json"]);
}

#[test]
fn catalog_help_documents_json_and_the_bucket() {
    let validate = help(&["catalog", "validate"]);
    assert_mentions(&validate, &["Exit status: 0", "The feed file to check"]);
    assert!(
        doc(&validate, "--json").contains("the same as --format json"),
        "{validate}"
    );
    assert!(
        !doc(&validate, "--format <FORMAT>").is_empty(),
        "{validate}"
    );
    assert_mentions(
        &help(&["catalog", "upload"]),
        &[
            "The merchant's connected account, acct_…",
            "CatalogBucketName",
            "CATALOG_BUCKET",
            "S3_ENDPOINT",
            "reports_prefix",
            "version_id",
        ],
    );
    let list = help(&["catalog", "imports", "list"]);
    assert_eq!(
        doc(&list, "--limit <LIMIT>"),
        "Imports per page (1 to 1000) [default: 20]"
    );
    assert_mentions(&list, &["CATALOG_TABLE", "--json"]);
    for command in ["validate", "upload"] {
        let text = help(&["catalog", command]);
        assert!(
            doc(&text, "--no-progress").contains("only when it is a terminal"),
            "{text}"
        );
    }
    let show = help(&["catalog", "imports", "show"]);
    assert!(
        doc(&show, "<IMPORT_KEY>").starts_with("The import's key"),
        "{show}"
    );
}

#[test]
fn agreements_help_names_what_show_needs() {
    let show = help(&["agreements", "show"]);
    assert_mentions(&show, &["STRIPE_SECRET_KEY", "in_sync", "AGREEMENTS_TABLE"]);
    assert!(
        doc(&show, "<ID>").starts_with("The agreement's id"),
        "{show}"
    );
    assert_mentions(
        &help(&["agreements", "list"]),
        &["acct_…", "--json", "AGREEMENTS_TABLE"],
    );
}

#[test]
fn simulate_help_explains_the_purchase() {
    let text = help(&["simulate", "purchase"]);
    assert!(
        doc(&text, "--sku <SKU>").starts_with("The merchant's SKU"),
        "{text}"
    );
    assert!(
        doc(&text, "--quantity <QUANTITY>").starts_with("How many to buy"),
        "{text}"
    );
    assert!(
        doc(&text, "--unit-amount <UNIT_AMOUNT>").contains("minor units, e.g. 1500 = 15.00 USD"),
        "{text}"
    );
    assert!(
        doc(&text, "--currency <CURRENCY>").starts_with("Three-letter ISO currency code"),
        "{text}"
    );
    assert_mentions(&text, &["STRIPE_SIM_URL", "--json"]);
}

#[test]
fn events_help_documents_fixtures_and_never_shows_a_secret() {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(["events", "send", "--help"])
        .env("STRIPE_SIGNING_SECRET", "whsec_helpMustNotShowThis1234")
        .output()
        .expect("run acb");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(!text.contains("helpMustNotShowThis"), "{text}");
    assert!(
        doc(&text, "<FIXTURE>").starts_with("An API Gateway request fixture from events/"),
        "{text}"
    );
    assert!(
        doc(&text, "--secret <SECRET>").starts_with("Signing secret (whsec_…)"),
        "{text}"
    );
    // The variable is named, its value is not.
    assert_mentions(&text, &["[env: STRIPE_SIGNING_SECRET]"]);
    assert!(
        doc(&text, "--json").contains("{\"status\": <HTTP status>"),
        "{text}"
    );
    assert_mentions(&text, &["ACB_API_URL"]);
    let sign = help(&["events", "sign"]);
    assert!(
        doc(&sign, "<FIXTURE>").starts_with("An API Gateway request fixture"),
        "{sign}"
    );
    assert!(
        doc(&sign, "--secret <SECRET>").starts_with("Signing secret (whsec_…)"),
        "{sign}"
    );
    assert!(
        doc(&sign, "--out <PATH>").starts_with("Write here"),
        "{sign}"
    );
}

#[test]
fn every_command_takes_json() {
    for command in [
        &["merchants", "put"][..],
        &["merchants", "get"],
        &["merchants", "list"],
        &["merchants", "pause"],
        &["merchants", "resume"],
        &["catalog", "validate"],
        &["catalog", "upload"],
        &["catalog", "imports", "list"],
        &["catalog", "imports", "show"],
        &["orders", "list"],
        &["orders", "show"],
        &["orders", "capture"],
        &["orders", "refund"],
        &["agreements", "list"],
        &["agreements", "show"],
        &["simulate", "purchase"],
        &["events", "sign"],
        &["events", "send"],
    ] {
        let text = help(command);
        assert!(
            doc(&text, "--json").len() > 10,
            "acb {command:?} has no documented --json:\n{text}"
        );
    }
}

#[test]
fn every_list_command_pages() {
    for words in [
        &["orders", "list"][..],
        &["merchants", "list"],
        &["catalog", "imports", "list"],
        &["agreements", "list"],
        &["dead-letters", "list"],
    ] {
        let text = help(words);
        assert!(
            doc(&text, "--limit <LIMIT>").contains("per page (1 to 1000)"),
            "{text}"
        );
        assert!(doc(&text, "--cursor <CURSOR>").contains("more:"), "{text}");
        assert!(
            doc(&text, "--all").starts_with("Print every page"),
            "{text}"
        );
    }
}
