//! The README's `cargo lambda watch` + `cargo lambda invoke --data-file events/…` path, run
//! as a user runs it: cargo-lambda (installed into .local/venv by `make install`) serves
//! the functions of this workspace, and the committed sample events go through them to
//! DynamoDB Local, the S3 emulator and stripe-sim.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sample_events::fixtures::{TEST_HOOK_SECRET, TEST_WEBHOOK_SECRET};
use serde_json::{Value, json};
use shared::merchants::Merchant;
use shared::skus::{Availability, SkuChange, SkuRecord};
use shared::store::dynamo::{DynamoCatalog, DynamoMerchants};
use shared::store::{ImportLog, MerchantAdmin, SkuRecords};
use stripe_sim::SimConfig;

const ACCOUNT: &str = "acct_1FixtureMerchant";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cargo_lambda() -> PathBuf {
    let bin = root().join(".local/venv/bin/cargo-lambda");
    assert!(
        bin.exists(),
        "cargo-lambda is not installed at {}: run `make install`",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `cargo lambda watch`, stopped with its whole process group when dropped.
struct Watch {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Watch {
    fn start(env: &[(&str, String)]) -> Watch {
        use std::os::unix::process::CommandExt;
        let port = free_port();
        let log = std::env::temp_dir().join(format!("cargo-lambda-watch-{port}.log"));
        let mut command = Command::new(cargo_lambda());
        command
            .current_dir(root())
            .args([
                "lambda",
                "watch",
                "-A",
                "127.0.0.1",
                "-P",
                &port.to_string(),
            ])
            .args(["--ignore-changes", "--quiet"])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::options().append(true).open(&log).unwrap())
            .process_group(0);
        for (name, value) in env {
            command.arg("--env-var").arg(format!("{name}={value}"));
        }
        let child = command.spawn().expect("cargo lambda watch starts");
        let watch = Watch { child, port, log };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "cargo lambda watch did not listen on {port}: {}",
                std::fs::read_to_string(&watch.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        watch
    }

    /// `cargo lambda invoke FUNCTION --data-file FILE`, its output parsed as JSON.
    fn invoke(&self, function: &str, data_file: &Path) -> Value {
        let output = Command::new(cargo_lambda())
            .current_dir(root())
            .args(["lambda", "invoke", function, "-A", "127.0.0.1"])
            .args(["-P", &self.port.to_string(), "--output-format", "json"])
            .arg("--data-file")
            .arg(data_file)
            .output()
            .expect("cargo lambda invoke runs");
        assert!(
            output.status.success(),
            "cargo lambda invoke {function} failed: {}\n{}\nwatch log:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{function} answered something that is not JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}

/// A committed fixture re-signed now, written where `--data-file` can read it.
fn signed_fixture(relative: &str, secret: &str) -> PathBuf {
    let mut event = testkit::fixture(relative);
    sample_events::fixtures::resign(&mut event, &[secret], testkit::now_seconds()).unwrap();
    write_event(&relative.replace('/', "-"), &event)
}

fn write_event(name: &str, event: &Value) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "{}-{}-{name}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::write(&path, serde_json::to_vec(event).unwrap()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn sample_events_go_through_cargo_lambda_watch_and_invoke() {
    let dynamo = testkit::dynamo().await;
    let s3 = testkit::s3().await;
    let merchants = testkit::fresh_table(&dynamo, testkit::MERCHANTS).await;
    let catalog = testkit::fresh_table(&dynamo, testkit::CATALOG).await;
    let idempotency = testkit::fresh_table(&dynamo, testkit::IDEMPOTENCY).await;
    let orders = testkit::fresh_table(&dynamo, testkit::ORDERS).await;
    let bucket = testkit::fresh_bucket(&s3).await;
    let sim = stripe_sim::start(
        SimConfig {
            webhook_secret: TEST_WEBHOOK_SECRET.into(),
            ..SimConfig::default()
        },
        0,
    )
    .await
    .unwrap();

    let mut merchant = Merchant::new(ACCOUNT);
    merchant.checkout = testkit::demo_checkout_settings();
    DynamoMerchants::new(dynamo.clone(), &merchants)
        .put_merchant(&merchant)
        .await
        .unwrap();
    let store = DynamoCatalog::new(dynamo.clone(), &catalog);
    let mug = SkuRecord {
        account_id: ACCOUNT.into(),
        sku: "MUG-TRAIL-12".into(),
        title: Some("Trail Mug".into()),
        availability: Availability::InStock,
        quantity: Some(5),
        available: Some(5),
        held: None,
        price: shared::money::parse_price("15.00 USD"),
        shipping: vec![],
        shipping_cost_basis: None,
        source_import: "import-0".into(),
        updated_at: 0,
        product_import: None,
    };
    store
        .apply_sku_changes(ACCOUNT, "import-0", 0, &[SkuChange::Replace(mug)])
        .await
        .unwrap();

    let env = |name: &str| std::env::var(name).unwrap();
    let watch = Watch::start(&[
        ("MERCHANTS_TABLE", merchants.clone()),
        ("CATALOG_TABLE", catalog.clone()),
        ("IDEMPOTENCY_TABLE", idempotency.clone()),
        ("ORDERS_TABLE", orders.clone()),
        ("CATALOG_BUCKET", bucket.clone()),
        ("FEED_UPLOAD_INTERVAL_SECONDS", "0".into()),
        ("STRIPE_HOOK_SECRETS", TEST_HOOK_SECRET.into()),
        ("STRIPE_WEBHOOK_SECRETS", TEST_WEBHOOK_SECRET.into()),
        ("STRIPE_SECRET_KEY", "sk_test_sim".into()),
        ("STRIPE_API_BASE", sim.base_url()),
        ("STRIPE_FILES_BASE", sim.base_url()),
        ("DYNAMODB_ENDPOINT", env("DYNAMODB_ENDPOINT")),
        ("S3_ENDPOINT", env("S3_ENDPOINT")),
        ("AWS_ACCESS_KEY_ID", "local".into()),
        ("AWS_SECRET_ACCESS_KEY", "local".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]);

    // An HTTP function, with the sample finalize request of each payload shape.
    let http_api = watch.invoke(
        "finalize-checkout",
        &signed_fixture("hooks/finalize_checkout.json", TEST_HOOK_SECRET),
    );
    assert_eq!(http_api["statusCode"], 200, "{http_api}");
    let decision: Value = serde_json::from_str(http_api["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        decision["manual_approval_details"]["type"], "approved",
        "{decision}"
    );
    let rest = watch.invoke(
        "finalize-checkout",
        &signed_fixture("hooks/finalize_checkout_rest.json", TEST_HOOK_SECRET),
    );
    assert_eq!(rest["statusCode"], 200, "{rest}");
    assert_eq!(
        serde_json::from_str::<Value>(rest["body"].as_str().unwrap()).unwrap(),
        decision,
        "the REST API shape of the same request gets the same (replayed) answer"
    );
    let held = store.sku(ACCOUNT, "MUG-TRAIL-12").await.unwrap().unwrap();
    assert_eq!(held.available, Some(3), "two mugs held, once");

    // The uploader, with an S3 notification for a file put in the bucket.
    let key = format!("incoming/{ACCOUNT}/catalog/cargo lambda.csv");
    let csv = std::fs::read(root().join("local/demo/catalog.csv")).unwrap();
    let event = testkit::put_and_event(&s3, &bucket, &key, &csv).await;
    let outcome = watch.invoke("catalog-uploader", &write_event("s3.json", &event));
    assert_eq!(outcome["files"][0]["outcome"], "queued", "{outcome}");
    let imports = store.imports(ACCOUNT, 10).await.unwrap();
    assert_eq!(imports.len(), 1, "one import recorded");
    assert!(
        imports[0].stripe_file_id.is_some(),
        "the file went to Stripe: {:?}",
        imports[0]
    );
    // Stripe's webhook that the import set ended reaches the uploader as the bus's nudge.
    let mut nudge = testkit::fixture("catalog/import_changed.json");
    nudge["detail"]["account_id"] = ACCOUNT.into();
    nudge["detail"]["import_id"] = imports[0].stripe_import_id.clone().unwrap().into();
    let nudged = watch.invoke("catalog-uploader", &write_event("nudge.json", &nudge));
    assert_eq!(nudged["import_status"], "succeeded_with_errors", "{nudged}");
    let status = testkit::read_object(
        &s3,
        &bucket,
        &format!("reports/{ACCOUNT}/cargo lambda.csv/status.json"),
    )
    .await
    .expect("status.json written");
    let status: Value = serde_json::from_slice(&status).unwrap();
    // stripe-sim processes at once: the import is finished, its two bad prices refused by
    // our validation and by Stripe alike.
    assert_eq!(
        (
            &status["status"],
            &status["stripe_successes"],
            &status["stripe_errors"]
        ),
        (&json!("succeeded_with_errors"), &json!(2), &json!(2)),
        "{status}"
    );
    let accepted = store
        .sku(ACCOUNT, "DEMO-MUG")
        .await
        .unwrap()
        .expect("DEMO-MUG");
    assert_eq!(accepted.quantity, Some(25));
    assert!(store.sku(ACCOUNT, "DEMO-BOWL").await.unwrap().is_none());
}
