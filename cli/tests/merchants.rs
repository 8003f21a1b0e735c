//! `acb merchants` against DynamoDB Local: put, get, list, partial updates, bad input.

use std::process::Command;

fn acb(table: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(args)
        .env("MERCHANTS_TABLE", table)
        .env_remove("STRIPE_SECRET_KEY")
        .output()
        .expect("run acb");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

#[tokio::test]
async fn put_get_list_round_trip() {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, testkit::MERCHANTS).await;

    let (ok, out, err) = acb(
        &table,
        &[
            "merchants",
            "put",
            "acct_1Cli",
            "--api",
            "v2",
            "--validation",
            "strict",
            "--name",
            "Cli shop",
        ],
    );
    assert!(ok, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "created acct_1Cli", "{out}");
    assert!(
        lines[1].starts_with("acct_1Cli  enabled") && lines[1].contains("api=v2"),
        "{out}"
    );
    assert!(
        lines[2].starts_with("checkout: 0 shipping rule(s)"),
        "{out}"
    );
    // A later put changes only what it names.
    let (ok, out, err) = acb(
        &table,
        &["merchants", "put", "acct_1Cli", "--enabled", "false"],
    );
    assert!(ok, "{err}");
    assert!(out.starts_with("updated acct_1Cli\n"), "{out}");
    let (ok, out, _) = acb(&table, &["merchants", "get", "acct_1Cli", "--json"]);
    assert!(ok);
    let merchant: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(merchant["api_generation"], "v2");
    assert_eq!(merchant["validation"], "strict");
    assert_eq!(merchant["enabled"], false);
    assert_eq!(merchant["display_name"], "Cli shop");

    // --json on put prints the stored merchant.
    let (ok, out, _) = acb(&table, &["merchants", "put", "acct_1Other", "--json"]);
    assert!(ok);
    let other: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(other["account_id"], "acct_1Other");
    assert_eq!(other["enabled"], true);
    let (ok, out, _) = acb(&table, &["merchants", "list"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(
        out.contains("acct_1Cli") && out.contains("DISABLED"),
        "{out}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_clearly() {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, testkit::MERCHANTS).await;
    let (ok, _, err) = acb(&table, &["merchants", "put", "acct_../../x"]);
    assert!(!ok);
    assert!(err.contains("not a connected account id"), "{err}");
    let (ok, _, err) = acb(&table, &["merchants", "put", "acct_1A", "--api", "v3"]);
    assert!(!ok);
    assert!(err.contains("v1 or v2"), "{err}");
    let (ok, _, err) = acb(&table, &["merchants", "get", "acct_1Nobody"]);
    assert!(!ok);
    assert!(err.contains("no merchant acct_1Nobody"), "{err}");
}

#[tokio::test]
async fn checkout_settings_pause_and_resume() {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, testkit::MERCHANTS).await;
    let settings = std::env::temp_dir().join(format!("acb-settings-{}.json", std::process::id()));
    std::fs::write(&settings, r#"{"fee_plan": {"basis_points": 250, "fixed": 30}, "approval": {"allowed_countries": ["US"], "refuse_prepaid_cards": true},
        "tax_rates": [{"country": "US", "state": "CA", "percentage": "8.25", "display_name": "CA sales tax"}], "when_unavailable": "approve"}"#).unwrap();
    let (ok, _, err) = acb(
        &table,
        &[
            "merchants",
            "put",
            "acct_1Set",
            "--checkout-settings",
            settings.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    let (ok, out, _) = acb(&table, &["merchants", "get", "acct_1Set"]);
    assert!(ok);
    assert!(
        out.lines().nth(1).is_some_and(|l| l
            == "checkout: 0 shipping rule(s), 1 tax rate(s), fee 2.50% + 30 minor units, ships to US, when unavailable: approve"),
        "{out}"
    );
    let (ok, out, _) = acb(&table, &["merchants", "pause", "acct_1Set"]);
    assert!(ok && out.contains("PAUSED"), "{out}");
    assert!(
        out.contains("declined, until `acb merchants resume acct_1Set`"),
        "{out}"
    );
    let (_, out, _) = acb(&table, &["merchants", "get", "acct_1Set", "--json"]);
    let merchant: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(merchant["paused"], true);
    assert_eq!(merchant["fee_plan"]["basis_points"], 250);
    assert_eq!(merchant["tax_rates"][0]["percentage"], "8.25");
    let (ok, out, _) = acb(&table, &["merchants", "resume", "acct_1Set", "--json"]);
    assert!(ok);
    let resumed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(resumed["paused"], false);
    let (ok, out, _) = acb(&table, &["merchants", "resume", "acct_1Set"]);
    assert!(ok && !out.contains("PAUSED"), "{out}");
    assert!(out.contains("accepted again"), "{out}");
    std::fs::write(&settings, r#"{"fee_plan": {"basis_points": "lots"}}"#).unwrap();
    let (ok, _, err) = acb(
        &table,
        &[
            "merchants",
            "put",
            "acct_1Set",
            "--checkout-settings",
            settings.to_str().unwrap(),
        ],
    );
    assert!(!ok && err.contains("not valid checkout settings"), "{err}");
    let _ = std::fs::remove_file(settings);
}

#[tokio::test]
async fn missing_or_wrong_tables_say_what_to_set() {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(["merchants", "list"])
        .env_remove("MERCHANTS_TABLE")
        .output()
        .expect("run acb");
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("--table")
            && err.contains("MERCHANTS_TABLE")
            && err.contains("MerchantsTableName"),
        "{err}"
    );
    // A table that is not there: named, with where to look.
    testkit::dynamo().await;
    let (ok, _, err) = acb(
        "acb-cli-no-such-table",
        &["merchants", "get", "acct_1Nobody"],
    );
    assert!(!ok);
    assert!(
        err.contains("no Merchants table \"acb-cli-no-such-table\"")
            && err.contains("MERCHANTS_TABLE"),
        "{err}"
    );
}
