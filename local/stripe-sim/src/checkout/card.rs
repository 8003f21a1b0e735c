//! The test card a purchase pays with, as Stripe reports it in `payment_method_details`.

use super::requests::CardInput;
use crate::errors::ApiError;
use crate::model::Card;
use sha2::{Digest, Sha256};

/// Stable per card so the same test card always has the same fingerprint, as on Stripe.
fn fingerprint(card: &Card) -> String {
    let digest = Sha256::digest(format!(
        "{}|{}|{}|{}",
        card.brand, card.last4, card.exp_month, card.exp_year
    ));
    hex::encode(digest).chars().take(16).collect()
}

const CARD_FUNDING: &[&str] = &["credit", "debit", "prepaid", "unknown"];

/// The test cards' issuer numbers.
fn default_iin(brand: &str) -> &'static str {
    match brand {
        "mastercard" => "555555",
        "amex" => "378282",
        "discover" => "601111",
        "jcb" => "356600",
        "diners" => "305693",
        "unionpay" => "620000",
        _ => "424242",
    }
}

pub(super) fn build_card(input: Option<&CardInput>) -> Result<Card, ApiError> {
    let input = input.cloned().unwrap_or_default();
    let mut card = Card {
        brand: input.brand.unwrap_or_else(|| "visa".into()),
        country: input.country.unwrap_or_else(|| "US".into()),
        exp_month: input.exp_month.unwrap_or(12),
        exp_year: input.exp_year.unwrap_or(2034),
        fingerprint: String::new(),
        funding: input.funding.unwrap_or_else(|| "credit".into()),
        iin: String::new(),
        last4: input.last4.unwrap_or_else(|| "4242".into()),
    };
    card.iin = input
        .iin
        .unwrap_or_else(|| default_iin(&card.brand).to_string());
    if !(6..=8).contains(&card.iin.len()) || !card.iin.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid_param(
            "card[iin]",
            "iin must be 6 to 8 digits.",
        ));
    }
    if !CARD_FUNDING.contains(&card.funding.as_str()) {
        return Err(ApiError::invalid_param(
            "card[funding]",
            format!("funding must be one of {}.", CARD_FUNDING.join(", ")),
        ));
    }
    if !(1..=12).contains(&card.exp_month) {
        return Err(ApiError::invalid_param(
            "card[exp_month]",
            "exp_month must be from 1 to 12.",
        ));
    }
    if card.last4.len() != 4 || !card.last4.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid_param(
            "card[last4]",
            "last4 must be four digits.",
        ));
    }
    card.fingerprint = fingerprint(&card);
    Ok(card)
}
