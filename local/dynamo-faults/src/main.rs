//! `dynamo-faults`: the fault proxy on its own, in front of any DynamoDB Local.
//!
//! ```text
//! dynamo-faults --listen 127.0.0.1:18001 --upstream http://127.0.0.1:18000
//! curl -X POST localhost:18001/_faults -d '{"throttle_percent":10,"operations":["TransactWriteItems"]}'
//! ```
//! `make run ARGS=--dynamodb-faults` starts the same proxy inside the local stack.

use std::net::SocketAddr;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "dynamo-faults",
    about = "Forward DynamoDB requests to DynamoDB Local, with throttles, 500s and latency switched on at runtime through /_faults"
)]
struct Args {
    /// Where to listen (loopback).
    #[arg(long, default_value = "127.0.0.1:18001")]
    listen: SocketAddr,
    /// DynamoDB Local's endpoint.
    #[arg(long, env = "DYNAMODB_ENDPOINT")]
    upstream: String,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match dynamo_faults::FaultProxy::start(args.listen, &args.upstream).await {
        Ok(proxy) => {
            println!(
                "forwarding {} -> {}; control: {} (POST, DELETE, GET)",
                proxy.url(),
                args.upstream,
                proxy.control_url()
            );
            let _ = tokio::signal::ctrl_c().await;
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", args.listen);
            std::process::ExitCode::FAILURE
        }
    }
}
