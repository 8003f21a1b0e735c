//! `make run`: the whole bundle on this machine. The function binaries run as they do in
//! AWS Lambda, behind a local Runtime API, fed by a local API Gateway, S3 notifications and
//! the schedule, all as `template.yaml` declares them; stripe-sim plays Stripe. A scenario
//! then walks a merchant from sign-up to a refunded order (see scenario.rs).

use local_stack::boot::{self, LocalSecrets, Options};
use local_stack::scenario;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "local-stack",
    about = "Run the agentic-commerce bundle locally (functions, API, S3 events, schedule, stripe-sim) and play the demo scenario. Started by `make run`."
)]
struct Args {
    /// Play the scenario, print the summary and exit: status 0 only if every step succeeded.
    #[arg(long)]
    once: bool,
    /// Do not play the scenario; just serve.
    #[arg(long, conflicts_with = "once")]
    no_scenario: bool,
    /// Port of the local HTTP API (the template's routes).
    #[arg(long, env = "ACB_API_PORT", default_value_t = 9000)]
    http_port: u16,
    /// Port of stripe-sim.
    #[arg(long, env = "STRIPE_SIM_PORT", default_value_t = 12111)]
    sim_port: u16,
    /// Seconds between schedule ticks; the template's rate (1 minute) when 0. Shorter
    /// locally so catalog imports finish while you watch.
    #[arg(long, default_value_t = 5)]
    tick_seconds: u64,
    /// FeedUploadIntervalSeconds: at most one catalog upload per merchant and feed per this
    /// many seconds. The template's 900 applies in AWS; 0 here, so every run of the scenario
    /// uploads at once (pass 900 to watch files queue and merge).
    #[arg(long, default_value_t = 0)]
    feed_interval_seconds: u64,
    #[arg(long, default_value = "acb-local")]
    stack_name: String,
    /// Where the function and stripe-sim binaries are (cargo's output directory).
    #[arg(long, default_value = "target/debug")]
    bin_dir: PathBuf,
    #[arg(long, default_value = "template.yaml")]
    template: PathBuf,
    /// Python with cfn-lint (the project venv) to read the template.
    #[arg(long, default_value = ".local/venv/bin/python")]
    python: PathBuf,
    /// Logs, dead letters and stack.env go here.
    #[arg(long, default_value = ".local/run/stack")]
    run_dir: PathBuf,
    /// The scenario's files (checkout settings, catalog CSV).
    #[arg(long, default_value = "local/demo")]
    demo_dir: PathBuf,
    #[arg(long, env = "DYNAMODB_ENDPOINT")]
    dynamodb_endpoint: String,
    #[arg(long, env = "S3_ENDPOINT")]
    s3_endpoint: String,
    /// Instances (processes) per function at most, as Lambda scales out: concurrent
    /// invocations go to different instances, a new one starts when all are busy, and
    /// invocations queue once N are busy.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    concurrency: u16,
    /// Put a fault proxy between the functions and DynamoDB Local: it forwards everything
    /// until told otherwise through its control endpoint (printed at start, and
    /// DYNAMODB_FAULTS_URL in stack.env), e.g. `POST /_faults {"throttle_percent":10}`.
    #[arg(long)]
    dynamodb_faults: bool,
    /// Run with the Stripe secrets marked by this text (letters and digits): every log
    /// can then be searched for it, and the banner does not print them.
    #[arg(long, value_parser = secret_marker)]
    secret_marker: Option<String>,
}

fn secret_marker(text: &str) -> Result<String, String> {
    if text.len() < 8 || !text.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err("at least 8 letters or digits".into());
    }
    Ok(text.to_string())
}

impl Args {
    fn options(&self) -> Options {
        Options {
            http_port: self.http_port,
            sim_port: self.sim_port,
            tick_seconds: self.tick_seconds,
            feed_interval_seconds: self.feed_interval_seconds,
            stack_name: self.stack_name.clone(),
            bin_dir: self.bin_dir.clone(),
            template: self.template.clone(),
            python: self.python.clone(),
            run_dir: self.run_dir.clone(),
            demo_dir: self.demo_dir.clone(),
            dynamodb_endpoint: self.dynamodb_endpoint.clone(),
            s3_endpoint: self.s3_endpoint.clone(),
            concurrency: usize::from(self.concurrency),
            log_requests: true,
            dynamodb_faults: self.dynamodb_faults,
            secrets: match &self.secret_marker {
                Some(marker) => LocalSecrets::marked(marker),
                None => LocalSecrets::public(),
            },
            function_env: Vec::new(),
            template_rates_for: Vec::new(),
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(args));
    // Dropping the runtime stops every task; the child processes are killed with them.
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

async fn run(args: Args) -> ExitCode {
    // A signal at any point (starting, mid-scenario, serving) stops everything cleanly:
    // the child processes die with the runtime.
    tokio::select! {
        code = start_and_play(&args) => code,
        signal = shutdown_signal() => {
            println!("\n{signal}: stopping the functions and stripe-sim.");
            if args.once { ExitCode::FAILURE } else { ExitCode::SUCCESS }
        }
    }
}

async fn start_and_play(args: &Args) -> ExitCode {
    let stack = match boot::start(&args.options()).await {
        Ok(stack) => stack,
        Err(e) => {
            eprintln!("error: the local stack did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let passed = if args.no_scenario {
        true
    } else {
        scenario::play(&stack).await
    };
    boot::print_where_to_look(&stack);
    if args.once {
        return if passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    println!("\nServing until Ctrl-C.");
    std::future::pending().await
}

/// Waits for Ctrl-C, SIGTERM or SIGHUP, so the child processes are stopped with us
/// whichever way the stack is ended.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hangup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return "Ctrl-C";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Ctrl-C",
        _ = term.recv() => "SIGTERM",
        _ = hangup.recv() => "SIGHUP",
    }
}
