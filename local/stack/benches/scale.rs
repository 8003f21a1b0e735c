//! `make bench-scale`: issue 13's scale run at full size (BENCH_MERCHANTS, default 10 000)
//! with the release binaries: every merchant drops a feed at once, stripe-sim enforces
//! Stripe's live-mode rate limits, and the run prints how long until every import was
//! terminal, what Stripe saw, what Lambda, DynamoDB, S3 and SQS were asked for, and what
//! that costs. Exits 1 if an import did not succeed, a limit was passed or a 429 answered.

#[path = "../tests/common/scale_run.rs"]
mod scale_run;

use std::path::PathBuf;
use std::time::Duration;

use scale_run::ScalePlan;

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
    let bin_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent()?.parent().map(PathBuf::from))
        .unwrap_or_else(|| root.join("target/release"));
    let (stack, aws_proxy) =
        match scale_run::start_stack(&root, bin_dir, setting("BENCH_CONCURRENCY", 6usize)).await {
            Ok(started) => started,
            Err(e) => {
                eprintln!("error: the local stack did not start: {e}");
                return std::process::ExitCode::FAILURE;
            }
        };
    let plan = ScalePlan {
        merchants: setting("BENCH_MERCHANTS", 10_000usize),
        drop_concurrency: 32,
        settle_within: Duration::from_secs(setting("BENCH_SETTLE_SECONDS", 3_600u64)),
    };
    println!("scale run: {plan:?}");
    let report = match scale_run::run(&stack, &aws_proxy, &plan).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    report.print();
    let problems = report.problems();
    if problems.is_empty() {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("FAILED: {problems:?}");
        std::process::ExitCode::FAILURE
    }
}
