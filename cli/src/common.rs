//! What every command group shares: where tables and Stripe settings come from, the errors
//! that say what to do when they are missing, money as people read it, JSON output.

use serde::Serialize;
use shared::config::{ConfigError, DynamoSettings, Env, StripeSettings, stripe_secret_key};
use shared::secret::Secret;
use shared::store::StoreError;

/// Where `make run` writes the environment for the local stack.
pub const STACK_ENV: &str = ".local/run/stack/stack.env";

/// One of the stack's DynamoDB tables, as an operator finds it.
pub struct TableSpec {
    /// "Orders": the table's name in messages.
    pub what: &'static str,
    /// The environment variable `--table` falls back to.
    pub var: &'static str,
    /// The stack output that names the table.
    pub output: &'static str,
}

pub const MERCHANTS_TABLE: TableSpec = TableSpec {
    what: "Merchants",
    var: "MERCHANTS_TABLE",
    output: "MerchantsTableName",
};
pub const ORDERS_TABLE: TableSpec = TableSpec {
    what: "Orders",
    var: "ORDERS_TABLE",
    output: "OrdersTableName",
};
pub const CATALOG_TABLE: TableSpec = TableSpec {
    what: "Catalog",
    var: "CATALOG_TABLE",
    output: "CatalogTableName",
};
pub const AGREEMENTS_TABLE: TableSpec = TableSpec {
    what: "Agreements",
    var: "AGREEMENTS_TABLE",
    output: "AgreementsTableName",
};
pub const DEAD_LETTERS_TABLE: TableSpec = TableSpec {
    what: "DeadLetters",
    var: "DEAD_LETTERS_TABLE",
    output: "DeadLettersTableName",
};

/// A resolved table: its name and the DynamoDB it lives in.
pub struct Table {
    spec: &'static TableSpec,
    pub name: String,
    endpoint: Option<String>,
}

impl TableSpec {
    /// The table from `--table` or its variable, or an error naming both.
    pub fn resolve(
        &'static self,
        table: Option<String>,
        endpoint: Option<String>,
    ) -> Result<Table, String> {
        let name = table
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                format!(
                    "the {} table is not set: pass --table or set {} (the stack output {}); \
                     for the local stack, `source {STACK_ENV}`",
                    self.what, self.var, self.output
                )
            })?;
        let endpoint = endpoint
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty());
        Ok(Table {
            spec: self,
            name,
            endpoint,
        })
    }
}

impl Table {
    pub fn dynamo_settings(&self) -> Result<DynamoSettings, String> {
        let env = Env::from_map(
            self.endpoint
                .iter()
                .map(|e| ("DYNAMODB_ENDPOINT", e.clone())),
        );
        DynamoSettings::from_env(&env)
            .map_err(|e| format!("{e} (from --dynamodb-endpoint or DYNAMODB_ENDPOINT)"))
    }

    /// A store error with what to check: the table's name, the endpoint, the credentials.
    pub fn error(&self, error: StoreError) -> String {
        let spec = self.spec;
        let place = match &self.endpoint {
            Some(endpoint) => format!("DynamoDB at {endpoint}"),
            None => "DynamoDB in AWS".to_string(),
        };
        let aws_hint = "check your AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and \
                        AWS_SECRET_ACCESS_KEY) and AWS_REGION, or set DYNAMODB_ENDPOINT for \
                        DynamoDB Local";
        let text = error.to_string();
        match &error {
            StoreError::Permanent(m) if m.contains("ResourceNotFoundException") => format!(
                "{text}: there is no {} table {:?} in {place}; pass --table or set {} (the stack output {}){}",
                spec.what,
                self.name,
                spec.var,
                spec.output,
                if self.endpoint.is_none() {
                    ", or set DYNAMODB_ENDPOINT for DynamoDB Local"
                } else {
                    ""
                }
            ),
            StoreError::Permanent(m) if m.contains("Invalid table") => format!(
                "{text}: {:?} is not a valid table name; pass --table or set {} (the stack output {})",
                self.name, spec.var, spec.output
            ),
            StoreError::Permanent(m)
                if m.contains("UnrecognizedClient")
                    || m.contains("AccessDenied")
                    || m.contains("ExpiredToken")
                    || m.contains("security token")
                    || m.contains("credentials") =>
            {
                format!("{text}: {place} refused the credentials; {aws_hint}")
            }
            StoreError::Permanent(m) if m.to_ascii_lowercase().contains("region") => {
                format!("{text}: no AWS region; set AWS_REGION (or a profile's region)")
            }
            StoreError::BadCursor(_) => format!(
                "{text}; pass the cursor that this same listing printed (its `more:` line, or \
                 next_cursor in JSON), or leave out --cursor to start from the first page"
            ),
            StoreError::Transient(m)
                if m.contains("dispatch failure") || m.contains("timed out") =>
            {
                match &self.endpoint {
                    Some(_) => format!(
                        "{text}: could not reach {place}; is it running? (`local/scripts/services.sh start`)"
                    ),
                    None => format!("{text}: could not reach {place}; {aws_hint}"),
                }
            }
            _ => text,
        }
    }
}

/// The Stripe settings and the platform's key, with errors that say what to set. The key
/// itself never appears in a message.
pub fn stripe_settings() -> Result<(Env, StripeSettings, Secret), String> {
    let env = Env::from_process();
    let settings = StripeSettings::from_env(&env).map_err(|e| e.to_string())?;
    let key = stripe_secret_key(&env, settings.livemode).map_err(|e| match e {
        ConfigError::Missing { name } => format!(
            "{name} is not set: this command calls Stripe with the platform's secret or \
             restricted key (sk_… or rk_…); export it (with STRIPE_LIVEMODE=true for a live \
             key), or `source {STACK_ENV}` for the local stack's stripe-sim"
        ),
        ConfigError::Malformed { name, reason } if reason.contains("STRIPE_LIVEMODE") => {
            format!(
                "{name}: {reason}; set STRIPE_LIVEMODE=true for a live key, unset it for a test key"
            )
        }
        ConfigError::Malformed { name, .. } => format!(
            "{name} is not a Stripe secret or restricted key: expected sk_test_…, sk_live_…, \
             rk_test_… or rk_live_…"
        ),
        other => other.to_string(),
    })?;
    Ok((env, settings, key))
}

/// Prints an error message, secrets masked, the way every command fails.
pub fn print_error(message: &str) {
    eprintln!("error: {}", shared::secret::redact(message));
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json(value: &impl Serialize) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| format!("encoding JSON: {e}"))?;
    println!("{text}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_table_names_the_flag_and_the_variable() {
        let err = ORDERS_TABLE.resolve(None, None).err().unwrap();
        assert!(
            err.contains("--table")
                && err.contains("ORDERS_TABLE")
                && err.contains("OrdersTableName"),
            "{err}"
        );
        assert!(ORDERS_TABLE.resolve(Some("  ".into()), None).is_err());
    }

    #[test]
    fn store_errors_say_what_to_check() {
        let table = MERCHANTS_TABLE
            .resolve(Some("t".into()), Some("http://127.0.0.1:1".into()))
            .unwrap();
        let err = table.error(StoreError::Permanent(
            "ResourceNotFoundException: Cannot do operations on a non-existent table".into(),
        ));
        assert!(
            err.contains("MERCHANTS_TABLE") && err.contains("\"t\""),
            "{err}"
        );
        let err = table.error(StoreError::Transient("dispatch failure".into()));
        assert!(
            err.contains("could not reach DynamoDB at http://127.0.0.1:1"),
            "{err}"
        );
        let aws = MERCHANTS_TABLE.resolve(Some("t".into()), None).unwrap();
        let err = aws.error(StoreError::Transient("dispatch failure".into()));
        assert!(
            err.contains("AWS_REGION") && err.contains("DYNAMODB_ENDPOINT"),
            "{err}"
        );
    }
}
