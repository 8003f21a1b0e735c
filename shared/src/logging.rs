//! JSON logs for Lambda (CloudWatch parses them; the runtime adds the request id to spans).

/// Installs the JSON subscriber once. The level comes from `RUST_LOG` (default `info`).
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_target(false)
        .without_time()
        .try_init();
}
