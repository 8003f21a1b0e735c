//! Stripe's official SDKs as the judges of the emulator: stripe-python and stripe-node
//! (pinned by local/scripts/requirements.txt and local/conformance/package.json, installed
//! into .local/ by `make install`) drive every flow the bundle uses against a fresh
//! stripe-sim each, and assert what the SDK makes of the answers (local/conformance/).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use stripe_sim::SimConfig;
use tokio::process::Command;

/// Far above a normal run (a few seconds) so a slow shared machine does not flake.
const DRIVER_TIMEOUT: Duration = Duration::from_secs(120);

fn root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

struct Driver {
    name: &'static str,
    program: PathBuf,
    script: PathBuf,
    env: Vec<(&'static str, PathBuf)>,
}

/// The two drivers, or a message saying what is missing.
fn drivers() -> Result<Vec<Driver>, String> {
    let root = root();
    let python = root.join(".local/venv/bin/python");
    let node_modules = root.join(".local/sdk-node/node_modules");
    let mut missing = Vec::new();
    if !python.exists() {
        missing.push(format!("{} (stripe-python)", python.display()));
    }
    if !node_modules.join("stripe/package.json").exists() {
        missing.push(format!("{}/stripe (stripe-node)", node_modules.display()));
    }
    if !missing.is_empty() {
        return Err(format!(
            "the Stripe SDKs the conformance test runs are not installed: {}. Run `make install` (local/scripts/install.sh).",
            missing.join(", ")
        ));
    }
    let conformance = root.join("local/conformance");
    Ok(vec![
        Driver {
            name: "stripe-python",
            program: python,
            script: conformance.join("stripe_python.py"),
            env: vec![("PYTHONDONTWRITEBYTECODE", "1".into())],
        },
        Driver {
            name: "stripe-node",
            program: "node".into(),
            script: conformance.join("stripe_node.mjs"),
            env: vec![("NODE_PATH", node_modules)],
        },
    ])
}

/// Runs one driver against its own emulator; `Err` carries everything it printed.
async fn run(driver: Driver) -> Result<String, String> {
    let sim = stripe_sim::start(SimConfig::default(), 0)
        .await
        .map_err(|e| format!("{}: stripe-sim did not start: {e}", driver.name))?;
    let started = Instant::now();
    let mut command = Command::new(&driver.program);
    command
        .arg(&driver.script)
        .args(["--base-url", &sim.base_url(), "--api-key", "sk_test_sim"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (key, value) in &driver.env {
        command.env(key, value);
    }
    let child = command.spawn().map_err(|e| {
        format!(
            "{}: could not run {}: {e}. Run `make install`.",
            driver.name,
            driver.program.display()
        )
    })?;
    let output = tokio::time::timeout(DRIVER_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| format!("{}: no result within {DRIVER_TIMEOUT:?}", driver.name))?
        .map_err(|e| format!("{}: {e}", driver.name))?;
    let text = format!(
        "---- {} ({:.1}s, {}) ----\n{}{}",
        driver.name,
        started.elapsed().as_secs_f64(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    match output.status.code() {
        Some(0) => Ok(text),
        Some(3) => Err(format!("{text}\nRun `make install`.")),
        _ => Err(text),
    }
}

#[tokio::test]
async fn stripe_sdks_accept_the_emulator() {
    let drivers = match drivers() {
        Ok(drivers) => drivers,
        Err(message) => panic!("{message}"),
    };
    let results = futures::future::join_all(drivers.into_iter().map(run)).await;
    let mut failures = Vec::new();
    for result in results {
        match result {
            Ok(text) => println!("{text}"),
            Err(text) => failures.push(text),
        }
    }
    assert!(
        failures.is_empty(),
        "the SDKs found stripe-sim answering unlike Stripe:\n{}",
        failures.join("\n")
    );
}
