//! `acb agreements list|show`: what we stored from thin events, and what Stripe says now.

use clap::{Args, Subcommand};
use serde_json::json;
use shared::agreements::Agreement;
use shared::merchants::is_account_id;
use shared::store::dynamo::{self, DynamoAgreements};
use shared::store::{AgreementPages, AgreementStore};
use shared::stripe::agreements::{AgreementsApi, StripeAgreements};
use shared::stripe::{StripeClient, http_client};

use crate::common::{AGREEMENTS_TABLE, print_json, stripe_settings};
use crate::paging::{Listing, PageArgs, page_size, resume_command};

#[derive(Args)]
pub struct AgreementArgs {
    /// The Agreements table (the stack output AgreementsTableName).
    #[arg(long, env = "AGREEMENTS_TABLE", global = true)]
    table: Option<String>,
    /// DynamoDB endpoint, for DynamoDB Local; unset uses AWS with your credentials.
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    /// Print JSON instead of the human-readable text.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum AgreementsCommand {
    /// The agreements stored for ACCOUNT, by id: id, status, agent, who initiated and
    /// terminated; a page at a time (--cursor, --all).
    List {
        /// The merchant's connected account, acct_…
        account: String,
        /// Agreements per page (1 to 1000).
        #[arg(long, default_value_t = LIST_LIMIT, value_parser = page_size)]
        limit: usize,
        #[command(flatten)]
        pages: PageArgs,
    },
    /// One agreement, re-fetched from Stripe and compared with the stored state.
    ///
    /// --json prints {"stripe", "stored", "in_sync"}. Needs STRIPE_SECRET_KEY
    /// (STRIPE_API_BASE for stripe-sim; STRIPE_AGREEMENTS_API_VERSION, default
    /// 2026-04-22.preview).
    Show {
        /// The merchant's connected account, acct_…
        account: String,
        /// The agreement's id, as `acb agreements list` shows it.
        id: String,
    },
}

const LIST_LIMIT: usize = 50;

fn line(a: &Agreement) -> String {
    format!(
        "{}  {:<20} agent={} ({})  initiated_by={}{}",
        a.agreement_id,
        a.status,
        a.orchestrator_name.as_deref().unwrap_or("?"),
        a.orchestrator_profile.as_deref().unwrap_or("?"),
        a.initiated_by.as_deref().unwrap_or("?"),
        a.terminated_by
            .as_deref()
            .map(|t| format!("  terminated_by={t}"))
            .unwrap_or_default()
    )
}

pub async fn run(command: AgreementsCommand, args: AgreementArgs) -> Result<(), String> {
    let account = match &command {
        AgreementsCommand::List { account, .. } | AgreementsCommand::Show { account, .. } => {
            account
        }
    };
    if !is_account_id(account) {
        return Err(format!(
            "{account:?} is not a connected account id (acct_…)"
        ));
    }
    let table = AGREEMENTS_TABLE.resolve(args.table.clone(), args.dynamodb_endpoint.clone())?;
    let store = DynamoAgreements::new(
        dynamo::client(&table.dynamo_settings()?).await,
        table.name.clone(),
    );
    match command {
        AgreementsCommand::List {
            account,
            limit,
            pages,
        } => {
            let listing = Listing {
                json: args.json,
                size: limit,
                pages,
                line,
                empty: format!("no agreements stored for {account}"),
                command: resume_command(&["agreements", "list", &account], limit, LIST_LIMIT),
            };
            let (store, table, account) = (&store, &table, &account);
            listing
                .print(|request| async move {
                    store
                        .agreement_page(account, &request)
                        .await
                        .map_err(|e| table.error(e))
                })
                .await?;
        }
        AgreementsCommand::Show { account, id } => {
            let (env, settings, key) = stripe_settings()?;
            let stored = store
                .agreement(&account, &id)
                .await
                .map_err(|e| table.error(e))?;
            let version = env
                .optional("STRIPE_AGREEMENTS_API_VERSION")
                .unwrap_or_else(|| "2026-04-22.preview".into());
            let client = StripeClient::new(
                http_client(&settings).map_err(|e| e.to_string())?,
                &settings,
                key,
            );
            let object = StripeAgreements::new(client, version)
                .retrieve_agreement(&account, &id)
                .await
                .map_err(|e| format!("retrieving {id} from Stripe: {e}"))?;
            let live = Agreement::from_stripe(&account, &object)
                .map_err(|e| format!("Stripe's answer is not an agreement we can show: {e}"))?;
            let in_sync = stored.as_ref().is_some_and(|s| {
                s.status == live.status && s.status_transitions == live.status_transitions
            });
            if args.json {
                print_json(&json!({"stripe": live, "stored": stored, "in_sync": in_sync}))?;
            } else {
                println!("stripe  {}", line(&live));
                match &stored {
                    Some(s) => println!("stored  {}", line(s)),
                    None => println!("stored  (nothing: no thin event received for it yet)"),
                }
                println!(
                    "{}",
                    if in_sync {
                        "in sync: the stored state is Stripe's"
                    } else {
                        "OUT OF SYNC: the next thin event (or a redelivery from the Dashboard) updates it"
                    }
                );
            }
        }
    }
    Ok(())
}
