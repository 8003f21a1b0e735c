//! `acb merchants put|get|list`: the settings the functions read from the Merchants table.

use clap::{Args, Subcommand};
use shared::config::{DynamoSettings, Env};
use shared::merchants::{ApiGeneration, Merchant, ValidationMode, is_account_id};
use shared::store::dynamo::{self, DynamoMerchants};
use shared::store::{MerchantAdmin, MerchantDirectory};

#[derive(Args)]
pub struct TableArgs {
    /// The Merchants table (stack output MerchantsTableName).
    #[arg(long, env = "MERCHANTS_TABLE", global = true)]
    table: Option<String>,
    /// DynamoDB endpoint, for DynamoDB Local; unset uses AWS with your credentials.
    #[arg(long, env = "DYNAMODB_ENDPOINT", global = true)]
    dynamodb_endpoint: Option<String>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
pub enum MerchantsCommand {
    /// Create or update a merchant (unset flags keep their current value).
    Put {
        account: String,
        #[arg(long)]
        name: Option<String>,
        /// Accept files and checkouts for this merchant.
        #[arg(long)]
        enabled: Option<bool>,
        /// Catalog upload API: v1 (Files + ImportSet) or v2 (Product Catalog Import).
        #[arg(long)]
        api: Option<ApiGeneration>,
        /// strict: any row error rejects the file; lenient: report and upload.
        #[arg(long)]
        validation: Option<ValidationMode>,
        /// A JSON file with the checkout settings: shipping_rules, tax_rates, fee_plan,
        /// approval, when_unavailable, paused (see the README for the shape).
        #[arg(long)]
        checkout_settings: Option<std::path::PathBuf>,
    },
    /// Decline every agent checkout for this merchant until resumed.
    Pause { account: String },
    /// Accept agent checkouts again.
    Resume { account: String },
    /// Show one merchant.
    Get { account: String },
    /// List merchants.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

async fn store(args: &TableArgs) -> Result<DynamoMerchants, String> {
    let table = args
        .table
        .clone()
        .ok_or("the Merchants table is not set: pass --table or set MERCHANTS_TABLE")?;
    let env = Env::from_map(
        args.dynamodb_endpoint
            .iter()
            .map(|e| ("DYNAMODB_ENDPOINT", e.clone())),
    );
    let settings = DynamoSettings::from_env(&env).map_err(|e| e.to_string())?;
    Ok(DynamoMerchants::new(dynamo::client(&settings).await, table))
}

fn show(merchant: &Merchant, json: bool) -> String {
    if json {
        return serde_json::to_string_pretty(merchant).unwrap_or_default();
    }
    format!(
        "{}  {}{}  api={}  validation={}{}",
        merchant.account_id,
        if merchant.enabled {
            "enabled "
        } else {
            "DISABLED"
        },
        if merchant.checkout.paused {
            "  PAUSED"
        } else {
            ""
        },
        merchant.api_generation,
        merchant.validation,
        merchant
            .display_name
            .as_deref()
            .map(|n| format!("  \"{n}\""))
            .unwrap_or_default()
    )
}

async fn set_paused(
    merchants: &DynamoMerchants,
    account: &str,
    paused: bool,
    json: bool,
) -> Result<(), String> {
    let mut merchant = merchants
        .merchant(account)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no merchant {account}"))?;
    merchant.checkout.paused = paused;
    merchants
        .put_merchant(&merchant)
        .await
        .map_err(|e| e.to_string())?;
    println!("{}", show(&merchant, json));
    Ok(())
}

pub async fn run(command: MerchantsCommand, args: TableArgs) -> Result<(), String> {
    let merchants = store(&args).await?;
    match command {
        MerchantsCommand::Pause { account } => {
            set_paused(&merchants, &account, true, args.json).await?
        }
        MerchantsCommand::Resume { account } => {
            set_paused(&merchants, &account, false, args.json).await?
        }
        MerchantsCommand::Put {
            account,
            name,
            enabled,
            api,
            validation,
            checkout_settings,
        } => {
            if !is_account_id(&account) {
                return Err(format!(
                    "{account:?} is not a connected account id (acct_…)"
                ));
            }
            let mut merchant = merchants
                .merchant(&account)
                .await
                .map_err(|e| e.to_string())?
                .unwrap_or_else(|| Merchant::new(&account));
            if let Some(name) = name {
                merchant.display_name = Some(name);
            }
            if let Some(enabled) = enabled {
                merchant.enabled = enabled;
            }
            if let Some(api) = api {
                merchant.api_generation = api;
            }
            if let Some(validation) = validation {
                merchant.validation = validation;
            }
            if let Some(path) = checkout_settings {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                merchant.checkout = serde_json::from_str(&text).map_err(|e| {
                    format!("{} is not valid checkout settings: {e}", path.display())
                })?;
            }
            merchants
                .put_merchant(&merchant)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", show(&merchant, args.json));
        }
        MerchantsCommand::Get { account } => {
            let merchant = merchants
                .merchant(&account)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no merchant {account}"))?;
            println!("{}", show(&merchant, args.json));
        }
        MerchantsCommand::List { limit } => {
            let all = merchants
                .list_merchants(limit)
                .await
                .map_err(|e| e.to_string())?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&all).unwrap_or_default());
            } else {
                for merchant in &all {
                    println!("{}", show(merchant, false));
                }
            }
        }
    }
    Ok(())
}
