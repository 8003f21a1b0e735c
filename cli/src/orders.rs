//! `acb orders list|show|capture|refund`: orders from the Orders table; capture and refund
//! through Stripe (the webhooks then record the new state).

use clap::{Args, Subcommand};
use serde_json::Value;
use shared::merchants::is_account_id;
use shared::orders::Order;
use shared::store::dynamo::{self, DynamoOrders};
use shared::store::{OrderPages, OrderStore};
use shared::stripe::{RequestOptions, StripeClient, http_client, idempotency_key_for};

use crate::common::{ORDERS_TABLE, print_json, stripe_settings};
use crate::paging::{Listing, PageArgs, page_size, resume_command};
use shared::money::{money, money_or_dash};

#[derive(Args)]
pub struct OrdersArgs {
    /// The Orders table (the stack output OrdersTableName).
    #[arg(long, env = "ORDERS_TABLE", global = true)]
    table: Option<String>,
    /// DynamoDB endpoint, for DynamoDB Local; unset uses AWS with your credentials.
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    /// Print JSON instead of the human-readable text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum OrdersCommand {
    /// The orders of ACCOUNT, one a line by session id: session, total, payment, refund,
    /// disputes, lines; a page at a time (--cursor, --all).
    List {
        /// The merchant's connected account, acct_…
        account: String,
        /// Orders per page (1 to 1000).
        #[arg(long, default_value_t = LIST_LIMIT, value_parser = page_size)]
        limit: usize,
        #[command(flatten)]
        pages: PageArgs,
    },
    /// One order, every field, as JSON (with or without --json).
    Show {
        /// The merchant's connected account, acct_…
        account: String,
        /// The order's checkout session, cs_…
        checkout_session: String,
    },
    /// Capture an order's authorized payment (manual capture) through Stripe.
    ///
    /// The payment_intent.succeeded webhook then records it on the order. Repeating the
    /// command is harmless: Stripe replays its first answer. Needs STRIPE_SECRET_KEY
    /// (STRIPE_API_BASE for stripe-sim).
    Capture {
        /// The merchant's connected account, acct_…
        account: String,
        /// The order's checkout session, cs_…
        checkout_session: String,
    },
    /// Refund an order's payment through Stripe: what is left of it, or --amount.
    ///
    /// The charge.refunded webhook then records the refund on the order. Retrying the same
    /// command before that replays Stripe's first answer instead of refunding twice; once
    /// it is recorded, the same command refunds again. Needs STRIPE_SECRET_KEY
    /// (STRIPE_API_BASE for stripe-sim).
    Refund {
        /// The merchant's connected account, acct_…
        account: String,
        /// The order's checkout session, cs_…
        checkout_session: String,
        /// How much to refund, in minor units, e.g. 500 = 5.00 USD; default: what is left
        /// to refund.
        #[arg(long)]
        amount: Option<i64>,
    },
}

const LIST_LIMIT: usize = 50;

fn line(order: &Order) -> String {
    let currency = order.currency.as_deref();
    let refunded = if order.refund.amount_refunded > 0 {
        format!(
            " {}",
            money(order.refund.amount_refunded, currency.unwrap_or(""))
        )
    } else {
        String::new()
    };
    format!(
        "{}  {}  {:<10} refund={}{refunded}  disputes={}  {}",
        order.checkout_session_id,
        money_or_dash(order.amount_total, currency),
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
    let (_, settings, key) = stripe_settings()?;
    Ok(StripeClient::new(
        http_client(&settings).map_err(|e| e.to_string())?,
        &settings,
        key,
    ))
}

pub async fn run(command: OrdersCommand, args: OrdersArgs) -> Result<(), String> {
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
    if let OrdersCommand::Refund {
        amount: Some(amount),
        ..
    } = &command
    {
        if *amount <= 0 {
            return Err(format!(
                "--amount must be a positive number of minor units (500 = 5.00 USD), not {amount}; \
                 leave it out to refund what is left"
            ));
        }
    }
    let table = ORDERS_TABLE.resolve(args.table.clone(), args.dynamodb_endpoint.clone())?;
    let orders = DynamoOrders::new(
        dynamo::client(&table.dynamo_settings()?).await,
        table.name.clone(),
    );
    let find = |session: String| {
        let orders = &orders;
        let table = &table;
        let account = account.clone();
        async move {
            orders
                .get(&account, &session)
                .await
                .map_err(|e| table.error(e))?
                .ok_or_else(|| {
                    format!(
                        "no order {session} for {account} in the table {}; `acb orders list {account}` shows its orders",
                        table.name
                    )
                })
        }
    };
    match command {
        OrdersCommand::List { limit, pages, .. } => {
            let listing = Listing {
                json: args.json,
                size: limit,
                pages,
                line,
                empty: format!("no orders for {account}"),
                command: resume_command(&["orders", "list", &account], limit, LIST_LIMIT),
            };
            let (orders, table, account) = (&orders, &table, &account);
            listing
                .print(|request| async move {
                    orders
                        .order_page(account, &request)
                        .await
                        .map_err(|e| table.error(e))
                })
                .await?;
        }
        OrdersCommand::Show {
            checkout_session, ..
        } => {
            let order = find(checkout_session).await?;
            print_json(&order)?;
        }
        OrdersCommand::Capture {
            checkout_session, ..
        } => {
            // The settings first: a missing key fails before anything is read.
            let client = stripe_client()?;
            let order = find(checkout_session).await?;
            let intent = order.payment_intent_id.clone().ok_or_else(|| {
                format!(
                    "the order {} has no payment intent to capture",
                    order.checkout_session_id
                )
            })?;
            // One capture per payment intent, however often the command is repeated.
            let options = RequestOptions::account(&account)
                .with_idempotency_key(idempotency_key_for("capture", &[&intent]));
            let captured = client
                .post_form(
                    &format!("/v1/payment_intents/{intent}/capture"),
                    &[],
                    &options,
                )
                .await
                .map_err(|e| format!("capturing {intent}: {e}"))?;
            if args.json {
                return print_json(&captured);
            }
            println!(
                "captured {} of order {} ({}): status {}; the payment_intent.succeeded webhook will record it on the order",
                amount_of(&captured, &["amount_received", "amount"]),
                order.checkout_session_id,
                str_of(&captured, "id"),
                str_of(&captured, "status"),
            );
        }
        OrdersCommand::Refund {
            checkout_session,
            amount,
            ..
        } => {
            // The settings first: a missing key fails before anything is read.
            let client = stripe_client()?;
            let order = find(checkout_session).await?;
            let intent = order.payment_intent_id.clone().ok_or_else(|| {
                format!(
                    "the order {} has no payment intent to refund",
                    order.checkout_session_id
                )
            })?;
            // The key covers the amount and what was refunded so far: a retried command
            // replays, a deliberate second refund (once the first is recorded) goes through.
            let amount_text = amount
                .map(|a| a.to_string())
                .unwrap_or_else(|| "all".into());
            let before = order.refund.amount_refunded.to_string();
            let options = RequestOptions::account(&account).with_idempotency_key(
                idempotency_key_for("refund", &[&intent, &amount_text, &before]),
            );
            // Without an amount Stripe refunds what is left of the charge.
            let mut form = vec![("payment_intent", intent.as_str())];
            if amount.is_some() {
                form.push(("amount", amount_text.as_str()));
            }
            let refund = client
                .post_form("/v1/refunds", &form, &options)
                .await
                .map_err(|e| format!("refunding {intent}: {e}"))?;
            if args.json {
                return print_json(&refund);
            }
            println!(
                "refund {} of {} for order {} requested: status {}; the charge.refunded webhook will record it on the order",
                str_of(&refund, "id"),
                amount_of(&refund, &["amount"]),
                order.checkout_session_id,
                str_of(&refund, "status"),
            );
        }
    }
    Ok(())
}

fn str_of<'a>(object: &'a Value, field: &str) -> &'a str {
    object[field].as_str().unwrap_or("?")
}

/// The first of `fields` that is an integer, as money in the object's currency.
fn amount_of(object: &Value, fields: &[&str]) -> String {
    money_or_dash(
        fields.iter().find_map(|f| object[*f].as_i64()),
        object["currency"].as_str(),
    )
}
