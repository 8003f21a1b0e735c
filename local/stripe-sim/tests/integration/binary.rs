//! The `stripe-sim` binary: announces its address on stdout and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_serves_and_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stripe-sim"))
        .args(["--port", "0", "--api-key", "sk_test_bin"])
        .env_remove("STRIPE_SIM_PORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn stripe-sim");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .expect("join")
    .expect("read line");
    let base = line
        .trim()
        .strip_prefix("stripe-sim listening on ")
        .expect("announcement")
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");

    let client = reqwest::Client::new();
    let resp = client
        .get(format!("{base}/v1/charges/ch_1"))
        .bearer_auth("sk_test_bin")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 404);
    let resp = client
        .get(format!("{base}/v1/charges/ch_1"))
        .bearer_auth("sk_test_sim")
        .send()
        .await
        .expect("request");
    assert_eq!(
        resp.status().as_u16(),
        401,
        "only the configured key is accepted"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn binary_takes_hook_flags_and_env() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stripe-sim"))
        .args([
            "--port",
            "0",
            "--customize-url",
            "http://127.0.0.1:9/customize",
            "--hook-secret",
            "whsec_flag",
            "--finalize-sends-session",
        ])
        .env_remove("STRIPE_SIM_PORT")
        .env_remove("STRIPE_SIM_CUSTOMIZE_URL")
        .env_remove("STRIPE_SIM_HOOK_SECRET")
        .env("STRIPE_SIM_FINALIZE_URL", "http://127.0.0.1:9/finalize")
        .env("STRIPE_SIM_HOOK_TIMEOUT_MS", "1500")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn stripe-sim");
    let stdout = child.stdout.take().expect("stdout");
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    })
    .await
    .expect("join")
    .expect("read line");
    let base = line
        .trim()
        .strip_prefix("stripe-sim listening on ")
        .expect("announcement")
        .to_string();
    let hooks: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/_sim/hooks"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    let _ = child.kill();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    assert_eq!(
        hooks,
        serde_json::json!({
            "customize_url": "http://127.0.0.1:9/customize",
            "finalize_url": "http://127.0.0.1:9/finalize",
            "secret": "whsec_flag",
            "finalize_sends_session": true,
            "timeout_ms": 1500
        })
    );
}
