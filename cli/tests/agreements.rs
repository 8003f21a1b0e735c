//! `acb agreements list|show` against DynamoDB Local and stripe-sim.

use std::process::Command;

use serde_json::json;
use shared::agreements::Agreement;
use shared::store::AgreementStore;
use shared::store::dynamo::DynamoAgreements;

fn acb(env: &[(&str, String)], args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_acb"))
        .args(args)
        .env_remove("STRIPE_SECRET_KEY")
        .env_remove("AGREEMENTS_TABLE")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("run acb");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into(),
        String::from_utf8_lossy(&output.stderr).into(),
    )
}

// Multi-threaded: the emulator keeps serving while a blocking `acb` process asks it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_compares_the_stored_state_with_stripes() {
    let dynamo = testkit::dynamo().await;
    let table = testkit::fresh_table(&dynamo, testkit::AGREEMENTS).await;
    let sim = stripe_sim::start(stripe_sim::SimConfig::default(), 0)
        .await
        .unwrap();
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/_sim/agreements", sim.base_url()))
        .json(&json!({"account": "acct_1CliShop", "orchestrator_name": "ChatGPT", "confirm": "both", "deliver": false}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["agreement"]["id"].as_str().unwrap().to_string();
    // Stored from an earlier event: still partially confirmed.
    let mut stale = created["agreement"].clone();
    stale["status"] = json!("partially_confirmed");
    stale["status_transitions"]["seller_confirmed_at"] = json!(null);
    let store = DynamoAgreements::new(dynamo.clone(), &table);
    store
        .put_if_newer(&Agreement::from_stripe("acct_1CliShop", &stale).unwrap())
        .await
        .unwrap();

    let env = [
        ("AGREEMENTS_TABLE", table.clone()),
        ("STRIPE_SECRET_KEY", "sk_test_sim".to_string()),
        ("STRIPE_API_BASE", sim.base_url()),
    ];
    let (ok, out, err) = acb(&env, &["agreements", "show", "acct_1CliShop", &id]);
    assert!(ok, "{err}");
    assert!(
        out.contains("OUT OF SYNC") && out.contains("confirmed"),
        "{out}"
    );

    store
        .put_if_newer(&Agreement::from_stripe("acct_1CliShop", &created["agreement"]).unwrap())
        .await
        .unwrap();
    let (ok, out, _) = acb(
        &env,
        &["agreements", "show", "acct_1CliShop", &id, "--json"],
    );
    assert!(ok);
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["in_sync"], true, "{shown}");
    assert_eq!(shown["stripe"]["status"], "confirmed");

    let (ok, out, _) = acb(&env, &["agreements", "show", "acct_1CliShop", &id]);
    assert!(
        ok && out.ends_with("in sync: the stored state is Stripe's\n"),
        "{out}"
    );
    let (ok, out, _) = acb(&env, &["agreements", "list", "acct_1CliShop"]);
    assert!(ok && out.contains(&id) && out.contains("ChatGPT"), "{out}");
    let (ok, out, _) = acb(&env, &["agreements", "list", "acct_1CliShop", "--json"]);
    assert!(ok);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["data"][0]["agreement_id"], id.as_str(), "{listed}");
    assert_eq!(listed["next_cursor"], serde_json::Value::Null, "{listed}");
    // Without the key, show says which variable to set, before reading anything.
    let (ok, _, err) = acb(&env[..1], &["agreements", "show", "acct_1CliShop", &id]);
    assert!(!ok && err.contains("STRIPE_SECRET_KEY is not set"), "{err}");
    let (ok, _, err) = acb(&[], &["agreements", "list", "acct_1CliShop"]);
    assert!(
        !ok && err.contains("--table") && err.contains("AGREEMENTS_TABLE"),
        "{err}"
    );
    let (ok, _, err) = acb(&env, &["agreements", "list", "not-an-account"]);
    assert!(!ok && err.contains("not a connected account"), "{err}");
}
