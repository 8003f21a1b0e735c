//! `acb merchants` against DynamoDB Local: put, get, list, partial updates, bad input.

use std::process::Command;

fn acb(table: &str, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(args)
        .env("MERCHANTS_TABLE", table)
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
    let table = testkit::fresh_table(&dynamo, &shared::store::schema::MERCHANTS).await;

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
    // A later put changes only what it names.
    let (ok, _, err) = acb(
        &table,
        &["merchants", "put", "acct_1Cli", "--enabled", "false"],
    );
    assert!(ok, "{err}");
    let (ok, out, _) = acb(&table, &["merchants", "get", "acct_1Cli", "--json"]);
    assert!(ok);
    let merchant: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(merchant["api_generation"], "v2");
    assert_eq!(merchant["validation"], "strict");
    assert_eq!(merchant["enabled"], false);
    assert_eq!(merchant["display_name"], "Cli shop");

    acb(&table, &["merchants", "put", "acct_1Other"]);
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
    let table = testkit::fresh_table(&dynamo, &shared::store::schema::MERCHANTS).await;
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
    let table = testkit::fresh_table(&dynamo, &shared::store::schema::MERCHANTS).await;
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
    let (ok, out, _) = acb(&table, &["merchants", "pause", "acct_1Set"]);
    assert!(ok && out.contains("PAUSED"), "{out}");
    let (_, out, _) = acb(&table, &["merchants", "get", "acct_1Set", "--json"]);
    let merchant: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(merchant["paused"], true);
    assert_eq!(merchant["fee_plan"]["basis_points"], 250);
    assert_eq!(merchant["tax_rates"][0]["percentage"], "8.25");
    let (ok, out, _) = acb(&table, &["merchants", "resume", "acct_1Set"]);
    assert!(ok && !out.contains("PAUSED"), "{out}");
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
