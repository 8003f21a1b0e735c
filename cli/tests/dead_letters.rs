//! `acb dead-letters list|show` against DynamoDB Local.

use std::process::Command;

use serde_json::Value;
use shared::dead_letters::DeadLetter;
use shared::store::DeadLetterStore;
use shared::store::dynamo::DynamoDeadLetters;

fn acb(env: &[(&str, String)], args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(args)
        .env_remove("DEAD_LETTERS_TABLE")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run acb");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_see_what_was_kept_and_why() {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, testkit::DEAD_LETTERS).await;
    let store = DynamoDeadLetters::new(dynamo.clone(), &table);
    let live = br#"{"id":"evt_live","type":"checkout.session.completed","account":"acct_1CliShop","livemode":true}"#;
    store
        .keep(&DeadLetter::of(
            "webhooks",
            live,
            "a live event, but this deployment serves test mode",
            2_000,
        ))
        .await
        .unwrap();
    store
        .keep(&DeadLetter::of(
            "events",
            b"not json",
            "not a thin event: expected value",
            1_000,
        ))
        .await
        .unwrap();
    let env = [("DEAD_LETTERS_TABLE", table.clone())];

    let (ok, out, err) = acb(&env, &["dead-letters", "list"]);
    assert!(ok, "{err}");
    // In the table's order: each line says when the event arrived.
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("2000  evt_live") && l.contains("serves test mode")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("platform") && l.contains("not a thin event")),
        "{out}"
    );

    let (ok, out, _) = acb(&env, &["dead-letters", "list", "acct_1CliShop", "--json"]);
    assert!(ok);
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["data"].as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed["data"][0]["event_id"], "evt_live");
    assert_eq!(listed["next_cursor"], Value::Null);

    let (ok, out, err) = acb(&env, &["dead-letters", "show", "acct_1CliShop", "evt_live"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("\"livemode\": true"),
        "the payload, pretty: {out}"
    );

    let (ok, _, err) = acb(&env, &["dead-letters", "show", "acct_1CliShop", "evt_none"]);
    assert!(!ok && err.contains("no event evt_none"), "{err}");
    let (ok, _, err) = acb(&env, &["dead-letters", "list", "acct_../x"]);
    assert!(!ok && err.contains("neither a connected account"), "{err}");
    let (ok, _, err) = acb(&[], &["dead-letters", "list"]);
    assert!(!ok && err.contains("DEAD_LETTERS_TABLE"), "{err}");
}
