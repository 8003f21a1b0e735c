//! `make bench-faults`: issue 12's fault run at full size (100 purchases, 20 uploads)
//! with the release binaries: Stripe fails 30% of the functions' calls (429 asked to be
//! retried, 500, stalls past their timeout), DynamoDB throttles 10% of theirs, and
//! stripe-sim loses every webhook of 10 purchases. Prints what happened; exits 1 if an order,
//! an import or a sold unit is missing or doubled, or a function panicked.

#[path = "../tests/common/fault_run.rs"]
mod fault_run;

use std::path::PathBuf;
use std::time::Duration;

use fault_run::{FaultPlan, STRIPE_TIMEOUT_MS};
use local_stack::boot::{self, Options};

fn setting<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let root = std::fs::canonicalize(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .expect("the repository root");
    std::env::set_current_dir(&root).expect("cd to the repository root");
    let (Ok(dynamodb_endpoint), Ok(s3_endpoint)) = (
        std::env::var("DYNAMODB_ENDPOINT"),
        std::env::var("S3_ENDPOINT"),
    ) else {
        eprintln!("error: DYNAMODB_ENDPOINT and S3_ENDPOINT are needed: run `make bench-faults`");
        return std::process::ExitCode::FAILURE;
    };
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(PathBuf::from))
        .unwrap_or_else(|| root.join("target/release"));
    let options = match Options::ephemeral(
        &root,
        bin_dir,
        "acb-faults",
        dynamodb_endpoint,
        s3_endpoint,
        setting("BENCH_CONCURRENCY", 8usize),
    ) {
        Ok(options) => Options {
            function_env: vec![("STRIPE_TIMEOUT_MS".into(), STRIPE_TIMEOUT_MS.to_string())],
            ..options
        },
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let stack = match boot::start(&options).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("error: the local stack did not start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let plan = FaultPlan {
        purchases: setting("BENCH_PURCHASES", 100usize),
        uploads: setting("BENCH_UPLOADS", 20usize),
        stripe_fault_percent: setting("BENCH_STRIPE_FAULT_PERCENT", 30.0),
        dynamo_throttle_percent: setting("BENCH_THROTTLE_PERCENT", 10.0),
        lost_purchases: setting("BENCH_LOST_PURCHASES", 10usize),
        clients: 16,
        settle_within: Duration::from_secs(setting("BENCH_SETTLE_SECONDS", 600u64)),
    };
    println!("fault run: {plan:?}");
    let report = match fault_run::run(&stack, &plan).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "  elapsed               {:.1} s",
        report.elapsed.as_secs_f64()
    );
    println!(
        "  purchases             {} completed of {} attempts ({} declined by finalize)",
        report.completed, report.attempts, report.declined
    );
    println!(
        "  orders                {} (units sold {})",
        report.orders, report.units_sold
    );
    println!(
        "  webhooks lost         {} deliveries, every one of {} purchases",
        report.deliveries_dropped,
        report.lost_sessions.len()
    );
    println!("  reconciled            {}", report.reconciled);
    println!("  hook fallbacks        {}", report.fallbacks);
    println!(
        "  uploads               {} finished; imports per merchant {:?}",
        report.uploads_finished, report.imports_per_feed_merchant
    );
    println!("  Stripe faults hit     {}", report.stripe_faults_hit);
    println!("  DynamoDB faults       {}", report.dynamo_faults);
    println!("  panics                {}", report.panics.len());
    let ok = report.orders == plan.purchases
        && report.reconciled >= plan.lost_purchases as f64
        && report.units_sold == plan.purchases as i64
        && report.uploads_finished == plan.uploads
        && report.imports_per_feed_merchant.iter().all(|n| *n == 1)
        && report.panics.is_empty();
    if ok {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("FAILED: something was lost, doubled or panicked (see above)");
        std::process::ExitCode::FAILURE
    }
}
