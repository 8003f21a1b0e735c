//! `acb orders list|show|capture|refund`: orders from the Orders table; capture and refund
//! through Stripe (the webhooks then record the new state).

use clap::{Args, Subcommand};
use serde_json::Value;
use shared::config::{DynamoSettings, Env, StripeSettings, stripe_secret_key};
use shared::merchants::is_account_id;
use shared::orders::Order;
use shared::store::OrderStore;
use shared::store::dynamo::{self, DynamoOrders};
use shared::stripe::{RequestOptions, StripeClient, http_client, idempotency_key_for};

#[derive(Args)]
pub struct OrdersArgs {
    /// The Orders table (stack output OrdersTableName).
    #[arg(long, env = "ORDERS_TABLE", global = true)]
    table: Option<String>,
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum OrdersCommand {
    /// The orders of ACCOUNT.
    List {
        account: String,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One order, every field.
    Show {
        account: String,
        checkout_session: String,
    },
    /// Capture an authorized payment (manual capture). Uses STRIPE_SECRET_KEY, STRIPE_API_BASE.
    Capture {
        account: String,
        checkout_session: String,
    },
    /// Refund the whole payment, or --amount minor units of it.
    Refund {
        account: String,
        checkout_session: String,
        #[arg(long)]
        amount: Option<i64>,
    },
}

fn money(amount: Option<i64>, currency: Option<&str>) -> String {
    match amount {
        Some(a) => format!(
            "{}.{:02} {}",
            a / 100,
            (a % 100).abs(),
            currency.unwrap_or("").to_uppercase()
        ),
        None => "-".into(),
    }
}

fn line(order: &Order) -> String {
    format!(
        "{}  {}  {:<10} refund={:<7} disputes={}  {}",
        order.checkout_session_id,
        money(order.amount_total, order.currency.as_deref()),
        order.payment.status,
        order.refund.status,
        order.disputes.len(),
        order
            .lines
            .iter()
            .map(|l| format!("{}×{}", l.quantity, l.sku.as_deref().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn stripe_client() -> Result<StripeClient, String> {
    let env = Env::from_process();
    let settings = StripeSettings::from_env(&env).map_err(|e| e.to_string())?;
    let key = stripe_secret_key(&env, settings.livemode).map_err(|e| e.to_string())?;
    Ok(StripeClient::new(
        http_client(&settings).map_err(|e| e.to_string())?,
        &settings,
        key,
    ))
}

pub async fn run(command: OrdersCommand, args: OrdersArgs) -> Result<(), String> {
    let table = args
        .table
        .clone()
        .ok_or("the Orders table is not set: pass --table or set ORDERS_TABLE")?;
    let env = Env::from_map(
        args.dynamodb_endpoint
            .iter()
            .map(|e| ("DYNAMODB_ENDPOINT", e.clone())),
    );
    let orders = DynamoOrders::new(
        dynamo::client(&DynamoSettings::from_env(&env).map_err(|e| e.to_string())?).await,
        table,
    );
    let account = match &command {
        OrdersCommand::List { account, .. }
        | OrdersCommand::Show { account, .. }
        | OrdersCommand::Capture { account, .. }
        | OrdersCommand::Refund { account, .. } => account.clone(),
    };
    if !is_account_id(&account) {
        return Err(format!(
            "{account:?} is not a connected account id (acct_…)"
        ));
    }
    let find = |session: String| {
        let orders = &orders;
        let account = account.clone();
        async move {
            orders
                .get(&account, &session)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no order {session} for {account}"))
        }
    };
    match command {
        OrdersCommand::List { limit, .. } => {
            let all = orders
                .list(&account, limit)
                .await
                .map_err(|e| e.to_string())?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
            } else if all.is_empty() {
                println!("no orders for {account}");
            } else {
                all.iter().for_each(|o| println!("{}", line(o)));
            }
        }
        OrdersCommand::Show {
            checkout_session, ..
        } => {
            let order = find(checkout_session).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&order).unwrap_or_default()
            );
        }
        OrdersCommand::Capture {
            checkout_session, ..
        } => {
            let order = find(checkout_session).await?;
            let intent = order
                .payment_intent_id
                .clone()
                .ok_or("the order has no payment intent")?;
            // One capture per payment intent, however often the command is repeated.
            let options = RequestOptions::account(&account)
                .with_idempotency_key(idempotency_key_for("capture", &[&intent]));
            let captured = stripe_client()?
                .post_form(
                    &format!("/v1/payment_intents/{intent}/capture"),
                    &[],
                    &options,
                )
                .await
                .map_err(|e| e.to_string())?;
            print_result(&captured, args.json, "captured");
        }
        OrdersCommand::Refund {
            checkout_session,
            amount,
            ..
        } => {
            let order = find(checkout_session).await?;
            let intent = order
                .payment_intent_id
                .clone()
                .ok_or("the order has no payment intent")?;
            if amount.is_some_and(|a| a <= 0) {
                return Err("--amount must be a positive number of minor units".into());
            }
            // The key covers the amount and what was refunded so far: a retried command
            // replays, a deliberate second refund (once the first is recorded) goes through.
            let amount_text = amount
                .map(|a| a.to_string())
                .unwrap_or_else(|| "all".into());
            let before = order.refund.amount_refunded.to_string();
            let options = RequestOptions::account(&account).with_idempotency_key(
                idempotency_key_for("refund", &[&intent, &amount_text, &before]),
            );
            let mut form = vec![("payment_intent", intent.as_str())];
            if amount.is_some() {
                form.push(("amount", amount_text.as_str()));
            }
            let refund = stripe_client()?
                .post_form("/v1/refunds", &form, &options)
                .await
                .map_err(|e| e.to_string())?;
            print_result(&refund, args.json, "refunded");
        }
    }
    Ok(())
}

fn print_result(object: &Value, json: bool, verb: &str) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(object).unwrap_or_default()
        );
    } else {
        println!(
            "{verb}: {} {} (status {})",
            object["id"].as_str().unwrap_or("?"),
            money(
                object["amount"]
                    .as_i64()
                    .or(object["amount_received"].as_i64()),
                object["currency"].as_str()
            ),
            object["status"].as_str().unwrap_or("?")
        );
    }
}
