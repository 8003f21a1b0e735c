//! Cold start of the finalize-checkout binary: from exec to its first poll of the Lambda
//! Runtime API (`GET /2018-06-01/runtime/invocation/next`), which is when Lambda can hand
//! it the first request. Init includes reading the configuration and opening the
//! DynamoDB connection (DynamoDB Local here). Needs DYNAMODB_ENDPOINT (`make bench-hooks`).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("DYNAMODB_ENDPOINT")?;
    let runs: usize = std::env::var("BENCH_COLD_STARTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_finalize-checkout"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "finalize-checkout")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("MERCHANTS_TABLE", "bench-merchants")
            .env("CATALOG_TABLE", "bench-catalog")
            .env("IDEMPOTENCY_TABLE", "bench-idempotency")
            .env("STRIPE_HOOK_SECRETS", "whsec_bench")
            .env("DYNAMODB_ENDPOINT", &endpoint)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        listener.set_nonblocking(false)?;
        let (stream, _) = listener.accept()?;
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line)?;
        let elapsed = started.elapsed();
        assert!(
            line.starts_with("GET /2018-06-01/runtime/invocation/next"),
            "{line}"
        );
        samples.push(elapsed);
        let _ = child.kill();
        let _ = child.wait();
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "finalize-checkout cold start (exec -> first runtime poll), n={runs}: min={:.1} ms  p50={:.1} ms  max={:.1} ms",
        ms(samples[0]),
        ms(samples[runs / 2]),
        ms(samples[runs - 1])
    );
    Ok(())
}
