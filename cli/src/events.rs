//! `acb events sign|send`: fixtures re-signed with the current time.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Subcommand;
use sample_events::fixtures;
use serde_json::Value;

#[derive(Subcommand)]
pub enum EventsCommand {
    /// Print FIXTURE re-signed with the current time (JSON).
    ///
    /// FIXTURE is an API Gateway request from events/; the output is ready for `cargo
    /// lambda invoke --data-file` or a test.
    Sign {
        /// An API Gateway request fixture from events/ (HTTP API 2.0 or REST/1.0 shape).
        fixture: PathBuf,
        /// Signing secret (whsec_…); several separated by commas give one v1 each.
        /// Default: the documented local test secret for the fixture's route (webhooks or
        /// hooks). Never printed.
        #[arg(long, env = "STRIPE_SIGNING_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Write here instead of standard output.
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
        /// Accepted for uniformity: the output is always JSON.
        #[arg(long)]
        json: bool,
    },
    /// Re-sign FIXTURE and POST it to a running stack; print the status and the answer.
    ///
    /// Sends the fixture's body and its stripe-signature, content-type and user-agent
    /// headers to its route. Exits 1 when the answer is not a 2xx.
    Send {
        /// An API Gateway request fixture from events/ (HTTP API 2.0 or REST/1.0 shape);
        /// its path (rawPath, or path) is the route it goes to.
        fixture: PathBuf,
        /// Base URL of the stack's HTTP API, e.g. http://127.0.0.1:9000 locally, or the
        /// stack output WebhookUrl without /stripe/webhooks.
        #[arg(long, env = "ACB_API_URL")]
        url: Option<String>,
        /// Signing secret (whsec_…); several separated by commas give one v1 each.
        /// Default: the documented local test secret for the fixture's route; a deployed
        /// stack needs its own. Never printed.
        #[arg(long, env = "STRIPE_SIGNING_SECRET", hide_env_values = true)]
        secret: Option<String>,
        /// Print JSON instead of the human-readable text: {"status": <HTTP status>,
        /// "body": <the answer, parsed as JSON when it is JSON, else a string>}.
        #[arg(long)]
        json: bool,
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
        return Err("no signing secret given: --secret (or STRIPE_SIGNING_SECRET) is empty".into());
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
            json: _,
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
            json,
        } => {
            let url = url
                .map(|u| u.trim().trim_end_matches('/').to_string())
                .filter(|u| !u.is_empty())
                .ok_or_else(|| {
                    format!(
                        "the stack's API URL is not set: pass --url or set ACB_API_URL \
                         (http://127.0.0.1:9000 for the local stack, which `source {}` sets)",
                        crate::common::STACK_ENV
                    )
                })?;
            let request = load_signed(&fixture, &secret)?;
            let path = match fixtures::route(&request) {
                "" => "/stripe/webhooks",
                path => path,
            };
            let body = fixtures::body_bytes(&request).map_err(|e| e.to_string())?;
            let mut post = reqwest::Client::new()
                .post(format!("{url}{path}"))
                .body(body);
            for name in ["stripe-signature", "content-type", "user-agent"] {
                if let Some(value) = fixtures::header(&request, name) {
                    post = post.header(name, value);
                }
            }
            let response = post.send().await.map_err(|e| {
                format!(
                    "sending to {url}{path}: {e}; is the stack running there (`make run` locally)?"
                )
            })?;
            let status = response.status();
            let answer = response
                .text()
                .await
                .map_err(|e| format!("reading the answer from {url}{path}: {e}"))?;
            if json {
                let body = serde_json::from_str::<Value>(&answer).unwrap_or(Value::String(answer));
                crate::common::print_json(&serde_json::json!({
                    "status": status.as_u16(),
                    "body": body,
                }))?;
            } else {
                println!("{} {answer}", status.as_u16());
            }
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("{url}{path} answered {status}"))
            }
        }
    }
}
