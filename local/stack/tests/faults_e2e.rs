//! The fault run at a size `make test` can afford: purchases and uploads through the local
//! stack while Stripe fails 30% of the functions' calls, DynamoDB throttles 10% and
//! stripe-sim loses webhook deliveries. `make bench-faults` runs it at full size.

#[path = "common/fault_run.rs"]
mod fault_run;

use std::path::PathBuf;
use std::time::Duration;

use fault_run::{FaultPlan, STRIPE_TIMEOUT_MS};
use local_stack::boot::{self, Options};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[tokio::test(flavor = "multi_thread")]
async fn under_stripe_and_dynamodb_faults_and_lost_webhooks_nothing_is_lost_or_doubled() {
    let root = std::fs::canonicalize(repo_root()).unwrap();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_local-stack"))
        .parent()
        .unwrap()
        .to_path_buf();
    let options = Options {
        function_env: vec![("STRIPE_TIMEOUT_MS".into(), STRIPE_TIMEOUT_MS.to_string())],
        ..Options::ephemeral(
            &root,
            bin_dir,
            "acb-faults",
            std::env::var("DYNAMODB_ENDPOINT").expect("DYNAMODB_ENDPOINT: run with `make test`"),
            std::env::var("S3_ENDPOINT").expect("S3_ENDPOINT: run with `make test`"),
            4,
        )
        .expect("free ports")
    };
    std::env::set_current_dir(&root).unwrap();
    let stack = boot::start(&options).await.expect("the local stack starts");
    let plan = FaultPlan {
        purchases: 12,
        uploads: 4,
        stripe_fault_percent: 30.0,
        dynamo_throttle_percent: 10.0,
        lost_purchases: 3,
        clients: 4,
        settle_within: Duration::from_secs(240),
    };
    let report = fault_run::run(&stack, &plan).await.unwrap_or_else(|e| {
        panic!("the fault run did not settle: {e}");
    });
    eprintln!("{report:#?}");
    assert_eq!(report.completed, plan.purchases);
    assert_eq!(
        report.orders, plan.purchases,
        "one order per purchase, no more"
    );
    assert_eq!(
        report.units_sold, plan.purchases as i64,
        "each purchase's unit sold exactly once"
    );
    assert_eq!(report.lost_sessions.len(), plan.lost_purchases);
    assert!(
        report.deliveries_dropped >= plan.lost_purchases,
        "stripe-sim lost their webhooks"
    );
    // At least those orders came from reconciliation (more when it ran before a
    // delayed, retried webhook).
    assert!(
        report.reconciled >= plan.lost_purchases as f64,
        "the lost deliveries were recovered by reconciliation: {report:?}"
    );
    assert_eq!(report.uploads_finished, plan.uploads);
    assert!(
        report.imports_per_feed_merchant.iter().all(|n| *n == 1),
        "one import per upload: {:?}",
        report.imports_per_feed_merchant
    );
    assert!(report.stripe_faults_hit > 0, "Stripe's faults were hit");
    assert_eq!(report.panics, Vec::<String>::new());
}
