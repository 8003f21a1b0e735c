//! `make run ARGS=--once` as a user runs it: the local-stack binary with the real function
//! binaries, against DynamoDB Local and the S3 emulator (`make test` starts both and builds
//! every binary first). The summary it prints must match what DynamoDB and S3 hold.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use shared::store::dynamo::{DynamoAgreements, DynamoMerchants, DynamoOrders};
use shared::store::{AgreementStore, MerchantDirectory, OrderStore};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn bin_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_BIN_EXE_local-stack"))
        .parent()
        .unwrap()
        .to_path_buf();
    for binary in [
        "webhooks",
        "catalog-uploader",
        "customize-checkout",
        "finalize-checkout",
        "account-session",
        "stripe-sim",
        "acb",
    ] {
        assert!(
            dir.join(binary).exists(),
            "{binary} is not built in {}: run the tests with `make test`, which builds every binary first",
            dir.display()
        );
    }
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Run {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
    run_dir: PathBuf,
}

impl Run {
    /// Every log of the run that contains `needle`: its stdout and stderr and each file
    /// in its run directory (function logs, stripe-sim's log, dead letters, the summary),
    /// except `stack.env`, which holds the API key on purpose (it configures `acb`).
    fn logs_containing(&self, needle: &str) -> Vec<String> {
        let mut found = Vec::new();
        for (name, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            if text.contains(needle) {
                found.push(name.to_string());
            }
        }
        for entry in std::fs::read_dir(&self.run_dir).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n == "stack.env") || !path.is_file() {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            if String::from_utf8_lossy(&bytes).contains(needle) {
                found.push(path.display().to_string());
            }
        }
        found
    }
}

fn run_stack(stack_name: &str, extra: &[&str]) -> Run {
    let run_dir = std::env::temp_dir().join(format!("{stack_name}-{}", fastrand::u32(..)));
    let output = Command::new(env!("CARGO_BIN_EXE_local-stack"))
        .current_dir(repo_root())
        .args(["--once", "--stack-name", stack_name])
        .args(["--http-port", &free_port().to_string()])
        .args(["--sim-port", &free_port().to_string()])
        .arg("--bin-dir")
        .arg(bin_dir())
        .arg("--run-dir")
        .arg(&run_dir)
        .args(extra)
        .output()
        .expect("local-stack runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    eprintln!("{stdout}\n{stderr}");
    Run {
        status: output.status,
        stdout,
        stderr,
        run_dir,
    }
}

async fn s3_text(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let object = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("s3://{bucket}/{key}: {e}"));
    String::from_utf8(object.body.collect().await.unwrap().to_vec()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scenario_passes_and_its_summary_matches_dynamodb_and_s3() {
    let stack = format!("acb-e2e-{:06x}", fastrand::u32(..0xFF_FFFF));
    let run = run_stack(&stack, &[]);
    assert!(run.status.success(), "local-stack --once failed");
    assert!(run.stdout.contains("5 of 5 steps succeeded"));
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(run.run_dir.join("summary.json")).unwrap())
            .unwrap();
    let account = summary["account"].as_str().unwrap();

    let dynamo = testkit::dynamo().await;
    let s3 = testkit::s3().await;
    let table = |id: &str| format!("{stack}-{id}");
    let bucket = format!("{stack}-catalog-000000000000");

    let merchant = DynamoMerchants::new(dynamo.clone(), table("MerchantsTable"))
        .merchant(account)
        .await
        .unwrap()
        .expect("the merchant is stored");
    assert!(merchant.enabled);
    assert_eq!(summary["merchant"]["enabled"], true);

    // The demo CSV has two rows with bad prices (DEMO-BOWL, DEMO-CUP): our validation
    // reports them and Stripe rejects them.
    assert_eq!(summary["import"]["status"], "succeeded_with_errors");
    assert_eq!(summary["import"]["rows"], 4);
    assert_eq!(summary["import"]["rows_with_errors"], 2);
    assert_eq!(summary["import"]["stripe_errors"], 2);
    let reports = summary["import"]["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 2, "validation.csv and stripe-errors.csv");
    for report in reports {
        let key = report["key"].as_str().unwrap();
        let text = s3_text(&s3, &bucket, key).await;
        assert_eq!(Some(text.len() as u64), report["bytes"].as_u64(), "{key}");
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 2, "{key}: {text}");
        assert!(
            rows.iter().any(|r| r.contains("DEMO-BOWL"))
                && rows.iter().any(|r| r.contains("DEMO-CUP"))
        );
    }

    // Stripe's import-set webhook finished the import through the bus, as on AWS: the
    // webhooks function's nudge went bus -> ImportChangedRule -> the feed queue.
    let nudged = run.logs_containing("import nudge handled");
    assert!(
        nudged
            .iter()
            .any(|log| log.ends_with("CatalogUploaderFunction.log")),
        "{nudged:?}"
    );
    assert!(
        run.stdout.contains("rule   ImportChangedRule"),
        "{}",
        run.stdout
    );

    let agreement_id = summary["agreement"]["id"].as_str().unwrap();
    let agreement = DynamoAgreements::new(dynamo.clone(), table("AgreementsTable"))
        .agreement(account, agreement_id)
        .await
        .unwrap()
        .expect("the agreement is stored");
    assert_eq!(agreement.status.as_str(), "confirmed");
    assert_eq!(summary["agreement"]["status"], "confirmed");

    let session = summary["order"]["checkout_session"].as_str().unwrap();
    let order = DynamoOrders::new(dynamo.clone(), table("OrdersTable"))
        .get(account, session)
        .await
        .unwrap()
        .expect("the order is stored");
    assert_eq!(order.payment.status, "succeeded");
    assert_eq!(
        summary["order"]["amount_total"].as_i64(),
        order.amount_total
    );
    assert_eq!(order.refund.amount_refunded, 500);
    assert_eq!(summary["order"]["amount_refunded"], 500);
    assert_eq!(order.refund.status, "partial");
    assert_eq!(order.lines.len(), 1);
    assert_eq!(order.lines[0].sku.as_deref(), Some("DEMO-MUG"));
    assert_eq!(order.lines[0].quantity, 2);
    // What was printed is what is stored.
    assert!(run.stdout.contains(session) && run.stdout.contains(agreement_id));
    assert!(
        run.stdout.contains("refunded 5.00 USD (partial)"),
        "{}",
        run.stdout
    );

    // The functions' EMF lines, summed: the one finalize call approved the purchase.
    let metrics: Vec<&str> = summary["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        metrics.contains(&"finalize-checkout HookDecision Hook=finalize Decision=approved 1"),
        "{metrics:?}"
    );
    assert!(
        run.stdout
            .contains("finalize-checkout HookDecision Hook=finalize Decision=approved 1")
    );

    // A second run over the same stack (tables and bucket kept) plays it again, with
    // several instances per function and every Stripe secret marked: no log may show one.
    let marker = format!("MARK{:016x}", fastrand::u64(..));
    let again = run_stack(&stack, &["--concurrency", "4", "--secret-marker", &marker]);
    assert!(
        again.status.success(),
        "a second run over the same stack failed"
    );
    let env_file = std::fs::read_to_string(again.run_dir.join("stack.env")).unwrap();
    assert!(
        env_file.contains(&marker),
        "the run used the marked secrets"
    );
    assert_eq!(
        again.logs_containing(&marker),
        Vec::<String>::new(),
        "a secret reached a log"
    );
    assert!(again.stdout.contains("kept"));
    let second: Value =
        serde_json::from_str(&std::fs::read_to_string(again.run_dir.join("summary.json")).unwrap())
            .unwrap();
    assert_ne!(
        second["order"]["checkout_session"],
        summary["order"]["checkout_session"]
    );
    // Its own import of its own upload, not the first run's.
    assert_ne!(
        second["import"]["import_key"],
        summary["import"]["import_key"]
    );
    assert_eq!(second["import"]["status"], "succeeded_with_errors");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_step_is_named_with_its_reason_and_the_run_fails() {
    // Checkout settings that do not parse: registering the merchant fails, and every
    // step that needs the merchant is skipped.
    let demo = std::env::temp_dir().join(format!("acb-bad-demo-{}", fastrand::u32(..)));
    std::fs::create_dir_all(&demo).unwrap();
    std::fs::write(
        demo.join("checkout-settings.json"),
        "{\"shipping_rules\": 7}",
    )
    .unwrap();
    std::fs::copy(
        repo_root().join("local/demo/catalog.csv"),
        demo.join("catalog.csv"),
    )
    .unwrap();
    let stack = format!("acb-fail-{:06x}", fastrand::u32(..0xFF_FFFF));
    let run = run_stack(&stack, &["--demo-dir", demo.to_str().unwrap()]);
    assert!(
        !run.status.success(),
        "a failed scenario must exit non-zero"
    );
    assert!(
        run.stdout.contains("FAILED: step 1 (Register a merchant)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("checkout-settings.json") || run.stdout.contains("shipping_rules"),
        "the reason is shown"
    );
    assert!(
        run.stdout.contains("FAILED: step 2")
            && run
                .stdout
                .contains("skipped: the merchant was not registered")
    );
    assert!(run.stdout.contains("0 of 5 steps succeeded"));
}
