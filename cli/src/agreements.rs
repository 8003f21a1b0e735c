//! `acb agreements list|show`: what we stored from thin events, and what Stripe says now.

use clap::{Args, Subcommand};
use serde_json::json;
use shared::agreements::Agreement;
use shared::config::{DynamoSettings, Env, StripeSettings, stripe_secret_key};
use shared::merchants::is_account_id;
use shared::store::AgreementStore;
use shared::store::dynamo::{self, DynamoAgreements};
use shared::stripe::{StripeClient, http_client};
use shared::thin_events::{AgreementsApi, StripeAgreements};

#[derive(Args)]
pub struct AgreementArgs {
    /// The Agreements table (stack output AgreementsTableName).
    #[arg(long, env = "AGREEMENTS_TABLE", global = true)]
    table: Option<String>,
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum AgreementsCommand {
    /// The agreements stored for ACCOUNT.
    List { account: String },
    /// One agreement, re-fetched from Stripe (STRIPE_SECRET_KEY, STRIPE_API_BASE) and
    /// compared with the stored state.
    Show { account: String, id: String },
}

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
    let table = args
        .table
        .clone()
        .ok_or("the Agreements table is not set: pass --table or set AGREEMENTS_TABLE")?;
    let env = Env::from_map(
        args.dynamodb_endpoint
            .iter()
            .map(|e| ("DYNAMODB_ENDPOINT", e.clone())),
    );
    let store = DynamoAgreements::new(
        dynamo::client(&DynamoSettings::from_env(&env).map_err(|e| e.to_string())?).await,
        table,
    );
    match command {
        AgreementsCommand::List { account } => {
            if !is_account_id(&account) {
                return Err(format!(
                    "{account:?} is not a connected account id (acct_…)"
                ));
            }
            let all = store
                .agreements(&account)
                .await
                .map_err(|e| e.to_string())?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
            } else if all.is_empty() {
                println!("no agreements stored for {account}");
            } else {
                all.iter().for_each(|a| println!("{}", line(a)));
            }
        }
        AgreementsCommand::Show { account, id } => {
            if !is_account_id(&account) {
                return Err(format!(
                    "{account:?} is not a connected account id (acct_…)"
                ));
            }
            let stored = store
                .agreement(&account, &id)
                .await
                .map_err(|e| e.to_string())?;
            let env = Env::from_process();
            let settings = StripeSettings::from_env(&env).map_err(|e| e.to_string())?;
            let key = stripe_secret_key(&env, settings.livemode).map_err(|e| e.to_string())?;
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
                .map_err(|e| e.to_string())?;
            let live = Agreement::from_stripe(&account, &object)
                .ok_or("Stripe's answer is not an agreement")?;
            let in_sync = stored.as_ref().is_some_and(|s| {
                s.status == live.status && s.status_transitions == live.status_transitions
            });
            if args.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({"stripe": live, "stored": stored, "in_sync": in_sync})
                    )
                    .unwrap_or_default()
                );
            } else {
                println!("stripe  {}", line(&live));
                match &stored {
                    Some(s) => println!("stored  {}", line(s)),
                    None => println!("stored  (nothing: no thin event received for it yet)"),
                }
                println!(
                    "{}",
                    if in_sync {
                        "in sync"
                    } else {
                        "OUT OF SYNC: the next thin event (or a redelivery from the Dashboard) updates it"
                    }
                );
            }
        }
    }
    Ok(())
}
