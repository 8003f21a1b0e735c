//! Checks on the parameters control requests share: accounts, currencies, pinned
//! timestamps and seeded ids.

use crate::errors::ApiError;
use crate::state::Scope;
use crate::timestamps::now;

pub fn parse_account(account: Option<&str>) -> Result<Scope, ApiError> {
    match account {
        None | Some("") => Ok(None),
        Some(a)
            if a.len() > 5
                && a.starts_with("acct_")
                && a[5..].chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            Ok(Some(a.to_string()))
        }
        Some(a) => Err(ApiError::invalid_param(
            "account",
            format!("Invalid account id: '{a}' (expected acct_…)."),
        )),
    }
}

/// Pinned timestamps must stay in a sane range: `created + 24 h` must not overflow.
pub(super) fn parse_created(created: Option<i64>) -> Result<i64, ApiError> {
    match created {
        None => Ok(now()),
        // Up to the end of year 9999, like Stripe's own timestamp parameters.
        Some(t) if (0..=253_402_300_799).contains(&t) => Ok(t),
        Some(_) => Err(ApiError::invalid_param(
            "created",
            "created must be a Unix timestamp between 0 and 253402300799.",
        )),
    }
}

pub fn parse_currency(currency: Option<&str>) -> Result<String, ApiError> {
    let currency = currency.unwrap_or("usd").to_ascii_lowercase();
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
        return Err(ApiError::invalid_param(
            "currency",
            format!("Invalid currency: {currency}."),
        ));
    }
    Ok(currency)
}

pub fn check_free_id(taken: bool, id: &str, prefix: &str, param: &str) -> Result<(), ApiError> {
    if !id.starts_with(prefix)
        || id.len() <= prefix.len()
        || !id.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
    {
        return Err(ApiError::invalid_param(
            param,
            format!("Invalid id '{id}': expected {prefix}…"),
        ));
    }
    if taken {
        return Err(ApiError::invalid_param(
            param,
            format!("An object with id '{id}' already exists in this account."),
        )
        .code("resource_already_exists"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_currencies_are_validated() {
        assert_eq!(
            parse_account(Some("acct_123")).ok(),
            Some(Some("acct_123".into()))
        );
        assert!(parse_account(Some("acct_")).is_err());
        assert!(parse_account(Some("acct_1/../x")).is_err());
        assert_eq!(parse_currency(Some("EUR")).ok().as_deref(), Some("eur"));
        assert!(parse_currency(Some("euro")).is_err());
        assert!(parse_created(Some(i64::MAX)).is_err());
        assert!(parse_created(Some(-1)).is_err());
        assert_eq!(parse_created(Some(1_700_000_000)).ok(), Some(1_700_000_000));
    }
}
