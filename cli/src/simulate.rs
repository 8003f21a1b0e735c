//! `acb simulate purchase`: an agent's purchase played by stripe-sim (local stack only):
//! both checkout hooks are called, then the webhooks delivered.

use clap::Subcommand;
use serde_json::{Value, json};

#[derive(Subcommand)]
pub enum SimulateCommand {
    /// Buy QUANTITY of SKU from ACCOUNT through stripe-sim.
    Purchase {
        #[arg(long)]
        account: String,
        #[arg(long)]
        sku: String,
        #[arg(long, default_value_t = 1)]
        quantity: u32,
        /// Unit price in minor units.
        #[arg(long, default_value_t = 1500)]
        unit_amount: i64,
        #[arg(long, default_value = "usd")]
        currency: String,
        /// stripe-sim's base URL.
        #[arg(long, env = "STRIPE_SIM_URL", default_value = "http://127.0.0.1:12111")]
        sim_url: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: SimulateCommand) -> Result<(), String> {
    let SimulateCommand::Purchase {
        account,
        sku,
        quantity,
        unit_amount,
        currency,
        sim_url,
        json,
    } = command;
    let response = reqwest::Client::new()
        .post(format!("{}/_sim/agentic_checkouts", sim_url.trim_end_matches('/')))
        .json(&json!({"account": account, "sku": sku, "quantity": quantity, "unit_amount": unit_amount, "currency": currency, "wait_for_delivery": true}))
        .send()
        .await
        .map_err(|e| format!("stripe-sim at {sim_url} did not answer: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&body).unwrap_or_default()
        );
    }
    match status.as_u16() {
        200 => {
            let session = &body["checkout_session"];
            if !json {
                println!(
                    "completed {}: total {} {} (shipping {}, tax {}), webhooks {}",
                    session["id"].as_str().unwrap_or("?"),
                    session["amount_total"],
                    currency.to_uppercase(),
                    session["total_details"]["amount_shipping"],
                    session["total_details"]["amount_tax"],
                    body["events"].as_array().map_or(0, Vec::len)
                );
            }
            Ok(())
        }
        402 => Err(format!(
            "declined: {}",
            body["error"]["message"].as_str().unwrap_or("no reason")
        )),
        424 => Err(format!(
            "a checkout hook failed: {}",
            body["error"]["message"].as_str().unwrap_or("no reason")
        )),
        other => Err(format!("stripe-sim answered {other}: {body}")),
    }
}
