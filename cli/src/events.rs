//! `acb events sign|send`: fixtures re-signed with the current time.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use serde_json::Value;
use shared::fixtures;

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Print FIXTURE (an API Gateway request from events/) re-signed with the current time,
    /// ready for `cargo lambda invoke --data-file` or a test.
    Sign {
        fixture: PathBuf,
        /// Signing secret; several separated by commas give one v1 each. Default: the
        /// documented local test secret for the fixture's route (webhooks or hooks).
        #[arg(long, env = "STRIPE_SIGNING_SECRET")]
        secret: Option<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-sign FIXTURE and POST its body and headers to a running stack.
    Send {
        fixture: PathBuf,
        /// Base URL of the stack's HTTP API, e.g. http://127.0.0.1:9000
        #[arg(long, env = "ACB_API_URL")]
        url: String,
        #[arg(long, env = "STRIPE_SIGNING_SECRET")]
        secret: Option<String>,
    },
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn load_signed(fixture: &PathBuf, secret: &Option<String>) -> Result<Value, String> {
    let text = std::fs::read_to_string(fixture)
        .map_err(|e| format!("reading {}: {e}", fixture.display()))?;
    let mut request: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", fixture.display()))?;
    let secret = secret
        .clone()
        .unwrap_or_else(|| fixtures::default_secret(&request).to_string());
    let secrets: Vec<&str> = secret
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if secrets.is_empty() {
        return Err("no signing secret given".into());
    }
    fixtures::resign(&mut request, &secrets, now())
        .map_err(|e| format!("{}: {e}", fixture.display()))?;
    Ok(request)
}

pub async fn run(command: EventsCommand) -> Result<(), String> {
    match command {
        EventsCommand::Sign {
            fixture,
            secret,
            out,
        } => {
            let request = load_signed(&fixture, &secret)?;
            let text = serde_json::to_string_pretty(&request).map_err(|e| e.to_string())? + "\n";
            match out {
                Some(path) => std::fs::write(&path, text)
                    .map_err(|e| format!("writing {}: {e}", path.display())),
                None => {
                    print!("{text}");
                    Ok(())
                }
            }
        }
        EventsCommand::Send {
            fixture,
            url,
            secret,
        } => {
            let request = load_signed(&fixture, &secret)?;
            let path = request
                .get("rawPath")
                .and_then(Value::as_str)
                .unwrap_or("/stripe/webhooks");
            let body = fixtures::body_bytes(&request).map_err(|e| e.to_string())?;
            let mut post = reqwest::Client::new()
                .post(format!("{}{path}", url.trim_end_matches('/')))
                .body(body);
            for name in ["stripe-signature", "content-type", "user-agent"] {
                if let Some(value) = request["headers"].get(name).and_then(Value::as_str) {
                    post = post.header(name, value);
                }
            }
            let response = post
                .send()
                .await
                .map_err(|e| format!("sending to {url}: {e}"))?;
            let status = response.status();
            let answer = response.text().await.unwrap_or_default();
            println!("{} {answer}", status.as_u16());
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("the stack answered {status}"))
            }
        }
    }
}
