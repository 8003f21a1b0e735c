//! `stripe-sim` binary: the emulator as a standalone process for the offline stack.
//!
//! Prints exactly one line to stdout once it is accepting connections, so a launcher can
//! wait for it; logs go to stderr as JSON.

use clap::Parser;
use std::io::Write;
use stripe_sim::{DeliveryOptions, HooksConfig, RateLimits, SimConfig};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(
    name = "stripe-sim",
    version,
    about = "A stateful emulator of the Stripe API endpoints this bundle uses"
)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, env = "STRIPE_SIM_PORT", default_value_t = 12111)]
    port: u16,
    /// Accepted secret key; repeat the flag (or comma-separate the env var) for several.
    #[arg(
        long = "api-key",
        env = "STRIPE_SIM_API_KEY",
        value_delimiter = ',',
        hide_env_values = true
    )]
    api_keys: Vec<String>,
    /// Where snapshot events are POSTed; without it events are only recorded.
    #[arg(long, env = "STRIPE_SIM_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// Secret that signs webhook deliveries.
    #[arg(
        long,
        env = "STRIPE_SIM_WEBHOOK_SECRET",
        default_value = "whsec_test_sim",
        hide_env_values = true
    )]
    webhook_secret: String,
    /// `api_version` written into events.
    #[arg(
        long,
        env = "STRIPE_SIM_API_VERSION",
        default_value = "2025-12-15.preview"
    )]
    api_version: String,
    /// Extra copies of every delivered event.
    #[arg(long, env = "STRIPE_SIM_DUPLICATES", default_value_t = 0)]
    duplicates: u32,
    /// Deliver each batch of events in reverse order.
    #[arg(long, env = "STRIPE_SIM_REORDER")]
    reorder: bool,
    /// Pause before each delivery, in milliseconds.
    #[arg(long, env = "STRIPE_SIM_DELAY_MS", default_value_t = 0)]
    delay_ms: u64,
    /// Attempts per delivery while the endpoint fails.
    #[arg(long, env = "STRIPE_SIM_MAX_ATTEMPTS", default_value_t = 3)]
    max_attempts: u32,
    /// Where v2 thin events are POSTed; without it they are only recorded.
    #[arg(long, env = "STRIPE_SIM_THIN_EVENT_URL")]
    thin_event_url: Option<String>,
    /// Secret that signs thin-event deliveries.
    #[arg(
        long,
        env = "STRIPE_SIM_THIN_EVENT_SECRET",
        default_value = "whsec_test_thin_sim",
        hide_env_values = true
    )]
    thin_event_secret: String,
    /// What `Stripe-Version` must contain for the (preview) agreements API.
    #[arg(
        long,
        env = "STRIPE_SIM_AGREEMENTS_VERSION_MARKER",
        default_value = "preview"
    )]
    agreements_version_marker: String,
    /// The beta flag `Stripe-Version` must carry for an agentic-commerce account session
    /// (`none`: no flag needed).
    #[arg(
        long,
        env = "STRIPE_SIM_ACCOUNT_SESSIONS_BETA",
        default_value = "embedded_connect_beta=v2"
    )]
    account_sessions_beta: String,
    /// Accepted Files API purposes (comma-separated in the env var).
    #[arg(
        long = "file-purpose",
        env = "STRIPE_SIM_FILE_PURPOSES",
        value_delimiter = ','
    )]
    file_purposes: Vec<String>,
    /// Path of the v1 import sets resource.
    #[arg(
        long,
        env = "STRIPE_SIM_IMPORT_SETS_PATH",
        default_value = "/v1/data_management/import_sets"
    )]
    import_sets_path: String,
    /// Milliseconds between a catalog upload and the end of its processing.
    #[arg(long, env = "STRIPE_SIM_PROCESSING_DELAY_MS", default_value_t = 0)]
    processing_delay_ms: u64,
    /// Minimum milliseconds between two imports of one account and feed (0: no limit).
    #[arg(long, env = "STRIPE_SIM_MIN_IMPORT_INTERVAL_MS", default_value_t = 0)]
    min_import_interval_ms: u64,
    /// Stripe's API rate limits: `live` (100/s global), `sandbox` (25/s global), both with
    /// 25/s per endpoint and Files 20 reads + 20 writes/s; `off` (the default): none.
    #[arg(
        long,
        env = "STRIPE_SIM_RATE_LIMITS",
        value_enum,
        default_value_t = RateLimitsMode::Off
    )]
    rate_limits: RateLimitsMode,
    /// Lifetime of v2 error-file download URLs, in seconds.
    #[arg(
        long,
        env = "STRIPE_SIM_ERROR_FILE_URL_TTL_SECS",
        default_value_t = 300
    )]
    error_file_url_ttl_secs: u64,
    /// Base of the upload and download URLs handed out (default: the bound address).
    #[arg(long, env = "STRIPE_SIM_PUBLIC_BASE_URL")]
    public_base_url: Option<String>,
    /// The platform's customize_checkout hook (unset: not called).
    #[arg(long, env = "STRIPE_SIM_CUSTOMIZE_URL")]
    customize_url: Option<String>,
    /// The platform's finalize_checkout hook (unset: not called, purchases are approved).
    #[arg(long, env = "STRIPE_SIM_FINALIZE_URL")]
    finalize_url: Option<String>,
    /// Secret that signs checkout hook requests (the Agentic Commerce Extension destination's).
    #[arg(
        long,
        env = "STRIPE_SIM_HOOK_SECRET",
        default_value = "whsec_test_hooks_sim",
        hide_env_values = true
    )]
    hook_secret: String,
    /// Deadline of each hook call in milliseconds (Stripe: 4000; finalize then declines).
    #[arg(long, env = "STRIPE_SIM_HOOK_TIMEOUT_MS", default_value_t = 4000)]
    hook_timeout_ms: u64,
    /// Put `checkout_session` into finalize_checkout's data (Stripe documents none there).
    #[arg(long, env = "STRIPE_SIM_FINALIZE_SENDS_SESSION")]
    finalize_sends_session: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum RateLimitsMode {
    Off,
    Live,
    Sandbox,
}

impl RateLimitsMode {
    fn limits(self) -> Option<RateLimits> {
        match self {
            Self::Off => None,
            Self::Live => Some(RateLimits::live()),
            Self::Sandbox => Some(RateLimits::sandbox()),
        }
    }
}

async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let defaults = SimConfig::default();
    let config = SimConfig {
        api_keys: if args.api_keys.is_empty() {
            defaults.api_keys
        } else {
            args.api_keys
        },
        webhook_url: args.webhook_url,
        webhook_secret: args.webhook_secret,
        delivery: DeliveryOptions {
            duplicates: args.duplicates,
            reorder: args.reorder,
            delay_ms: args.delay_ms,
            max_attempts: args.max_attempts,
        },
        api_version: args.api_version,
        file_purposes: if args.file_purposes.is_empty() {
            defaults.file_purposes
        } else {
            args.file_purposes
        },
        import_sets_path: args.import_sets_path,
        processing_delay_ms: args.processing_delay_ms,
        min_import_interval_ms: args.min_import_interval_ms,
        rate_limits: args.rate_limits.limits(),
        error_file_url_ttl: std::time::Duration::from_secs(args.error_file_url_ttl_secs),
        thin_event_url: args.thin_event_url,
        thin_event_secret: args.thin_event_secret,
        agreements_version_marker: args.agreements_version_marker,
        account_sessions_beta: Some(args.account_sessions_beta.trim())
            .filter(|flag| !flag.is_empty() && *flag != "none")
            .map(str::to_string),
        public_base_url: args.public_base_url,
        hooks: Some(HooksConfig {
            customize_url: args.customize_url,
            finalize_url: args.finalize_url,
            secret: args.hook_secret,
            timeout_ms: args.hook_timeout_ms.clamp(1, 600_000),
            finalize_sends_session: args.finalize_sends_session,
        }),
        ..SimConfig::default()
    };
    let handle = match stripe_sim::start(config, args.port).await {
        Ok(handle) => handle,
        Err(e) => {
            tracing::error!(error = %e, port = args.port, "could not start stripe-sim");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "stripe-sim listening on {}", handle.base_url());
    let _ = stdout.flush();

    stop_signal().await;
    tracing::info!("stripe-sim stopping");
    handle.shutdown().await;
    std::process::ExitCode::SUCCESS
}
