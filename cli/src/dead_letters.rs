//! `acb dead-letters list|show`: the genuine Stripe events the webhooks function could not
//! process and kept for an operator (answered 2xx, so Stripe no longer retries them).

use clap::{Args, Subcommand};
use serde_json::Value;
use shared::dead_letters::{DeadLetter, PLATFORM};
use shared::merchants::is_account_id;
use shared::store::dynamo::{self, DynamoDeadLetters};
use shared::store::{DeadLetterPages, DeadLetterStore};

use crate::common::{DEAD_LETTERS_TABLE, print_json};
use crate::paging::{Listing, PageArgs, page_size, resume_command};

#[derive(Args)]
pub struct DeadLetterArgs {
    /// The DeadLetters table (the stack output DeadLettersTableName).
    #[arg(long, env = "DEAD_LETTERS_TABLE", global = true)]
    table: Option<String>,
    /// DynamoDB endpoint, for DynamoDB Local; unset uses AWS with your credentials.
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    /// Print JSON instead of the human-readable text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum DeadLettersCommand {
    /// The events kept: when, which event, which account, and why; a page at a time
    /// (--cursor, --all).
    ///
    /// In the table's order, by account and then event id, not by time (the table has no
    /// index on it): each line starts with when the event arrived, to sort by.
    List {
        /// Only this connected account's (acct_…), or `platform` for events naming none.
        account: Option<String>,
        /// Events per page (1 to 1000).
        #[arg(long, default_value_t = LIST_LIMIT, value_parser = page_size)]
        limit: usize,
        #[command(flatten)]
        pages: PageArgs,
    },
    /// One kept event with its payload as Stripe sent it.
    Show {
        /// The account it is filed under, as `list` shows it (acct_… or `platform`).
        account: String,
        /// The event's id, as `list` shows it.
        event_id: String,
    },
}

const LIST_LIMIT: usize = 50;

fn line(letter: &DeadLetter) -> String {
    format!(
        "{}  {}  {}  {}  {}: {}",
        letter.received_at,
        letter.event_id,
        letter.event_type.as_deref().unwrap_or("?"),
        letter.account_id,
        letter.route,
        letter.reason
    )
}

fn check(account: &str) -> Result<(), String> {
    if account == PLATFORM || is_account_id(account) {
        Ok(())
    } else {
        Err(format!(
            "{account:?} is neither a connected account id (acct_…) nor `{PLATFORM}`"
        ))
    }
}

pub async fn run(command: DeadLettersCommand, args: DeadLetterArgs) -> Result<(), String> {
    let table = DEAD_LETTERS_TABLE.resolve(args.table.clone(), args.dynamodb_endpoint.clone())?;
    let store = DynamoDeadLetters::new(
        dynamo::client(&table.dynamo_settings()?).await,
        table.name.clone(),
    );
    match command {
        DeadLettersCommand::List {
            account,
            limit,
            pages,
        } => {
            if let Some(account) = &account {
                check(account)?;
            }
            let mut words = vec!["dead-letters", "list"];
            words.extend(account.as_deref());
            let listing = Listing {
                json: args.json,
                size: limit,
                pages,
                line,
                empty: "no events kept for an operator".to_string(),
                command: resume_command(&words, limit, LIST_LIMIT),
            };
            let (store, table, account) = (&store, &table, account.as_deref());
            listing
                .print(|request| async move {
                    store
                        .dead_letter_page(account, &request)
                        .await
                        .map_err(|e| table.error(e))
                })
                .await?;
        }
        DeadLettersCommand::Show { account, event_id } => {
            check(&account)?;
            let letter = store
                .dead_letters(Some(&account), usize::MAX)
                .await
                .map_err(|e| table.error(e))?
                .into_iter()
                .find(|l| l.event_id == event_id)
                .ok_or_else(|| format!("no event {event_id} is kept under {account}"))?;
            if args.json {
                return print_json(&letter);
            }
            println!("{}", line(&letter));
            if letter.truncated {
                println!("(the payload below was cut at its first 256 KiB)");
            }
            // Pretty when it is JSON, as received otherwise.
            match serde_json::from_str::<Value>(&letter.payload) {
                Ok(value) => print_json(&value)?,
                Err(_) => println!("{}", letter.payload),
            }
        }
    }
    Ok(())
}
