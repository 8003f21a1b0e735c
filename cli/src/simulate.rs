//! `acb simulate purchase`: an agent's purchase played by stripe-sim (local stack only):
//! both checkout hooks are called, then the webhooks delivered.

use clap::Subcommand;
use serde_json::{Value, json};

use shared::money::money_or_dash;

#[derive(Subcommand)]
pub enum SimulateCommand {
    /// Buy QUANTITY of SKU from ACCOUNT through stripe-sim.
    ///
    /// stripe-sim calls both checkout hooks of the local stack, completes the checkout and
    /// delivers the webhooks, which store the order (`acb orders list ACCOUNT`). Exits 1
    /// when the purchase is declined or a hook fails.
    Purchase {
        /// The merchant's connected account, acct_…
        #[arg(long)]
        account: String,
        /// The merchant's SKU, as in its catalog feed (the id column).
        #[arg(long)]
        sku: String,
        /// How many to buy.
        #[arg(long, default_value_t = 1)]
        quantity: u32,
        /// Unit price in minor units, e.g. 1500 = 15.00 USD.
        #[arg(long, default_value_t = 1500)]
        unit_amount: i64,
        /// Three-letter ISO currency code of the price.
        #[arg(long, default_value = "usd")]
        currency: String,
        /// stripe-sim's base URL.
        #[arg(long, env = "STRIPE_SIM_URL", default_value = "http://127.0.0.1:12111")]
        sim_url: String,
        /// Print stripe-sim's answer as JSON (checkout_session, events) instead of the
        /// human-readable text.
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
        .map_err(|e| {
            format!(
                "stripe-sim at {sim_url} did not answer: {e}; is the local stack running (`make run`), or STRIPE_SIM_URL set?"
            )
        })?;
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
                let currency = session["currency"].as_str().unwrap_or(&currency);
                let amount = |v: &Value| money_or_dash(v.as_i64(), Some(currency));
                println!(
                    "completed {}: total {} (shipping {}, tax {}); {} webhook event(s)",
                    session["id"].as_str().unwrap_or("?"),
                    amount(&session["amount_total"]),
                    amount(&session["total_details"]["amount_shipping"]),
                    amount(&session["total_details"]["amount_tax"]),
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
