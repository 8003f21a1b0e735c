//! Money as Stripe wants it: integer minor units and a lowercase ISO 4217 code. Feed prices
//! arrive as text (`15.00 USD`) and are converted exactly, never through a float.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents for USD, yen for JPY).
    pub amount: i64,
    pub currency: Currency,
}

/// Three ASCII letters, stored lowercase as Stripe does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(code: &str) -> Option<Self> {
        let bytes = code.as_bytes();
        (bytes.len() == 3 && bytes.iter().all(u8::is_ascii_alphabetic)).then(|| {
            Self([
                bytes[0].to_ascii_lowercase(),
                bytes[1].to_ascii_lowercase(),
                bytes[2].to_ascii_lowercase(),
            ])
        })
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("xxx")
    }

    /// Decimal places of the minor unit (Stripe's zero- and three-decimal currencies).
    pub fn exponent(&self) -> u32 {
        match self.as_str() {
            "bif" | "clp" | "djf" | "gnf" | "jpy" | "kmf" | "krw" | "mga" | "pyg" | "rwf"
            | "ugx" | "vnd" | "vuv" | "xaf" | "xof" | "xpf" => 0,
            "bhd" | "jod" | "kwd" | "omr" | "tnd" => 3,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value).ok_or_else(|| format!("{value:?} is not a currency code"))
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.as_str().to_string()
    }
}

/// Parses `15.00 USD` (amount, one space, ISO 4217 code). More decimals than the currency
/// has, a sign, or anything else is refused rather than rounded.
pub fn parse_price(text: &str) -> Option<Money> {
    let (amount, code) = text.trim().split_once(' ')?;
    let currency = Currency::parse(code)?;
    let (whole, fraction) = amount.split_once('.').unwrap_or((amount, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || !digits_only(whole)
        || !digits_only(fraction)
        || (amount.contains('.') && fraction.is_empty())
    {
        return None;
    }
    let exponent = currency.exponent();
    if fraction.len() as u32 > exponent {
        // Allow trailing zeros beyond the exponent (`100.00 JPY`), nothing else.
        if fraction[exponent as usize..].bytes().any(|b| b != b'0') {
            return None;
        }
    }
    let mut minor: i64 = whole.parse().ok()?;
    for i in 0..exponent as usize {
        let digit = fraction
            .as_bytes()
            .get(i)
            .map_or(0, |b| i64::from(b - b'0'));
        minor = minor.checked_mul(10)?.checked_add(digit)?;
    }
    Some(Money {
        amount: minor,
        currency,
    })
}

/// Integer minor units as people read them: `1250, "usd"` is `12.50 USD`, `500, "jpy"` is
/// `500 JPY`. Never through a float. For people: the CLI and the local stack.
pub fn money(amount: i64, currency: &str) -> String {
    let exponent = Currency::parse(currency).map_or(2, |c| c.exponent());
    let sign = if amount < 0 { "-" } else { "" };
    let units = amount.unsigned_abs();
    let number = if exponent == 0 {
        units.to_string()
    } else {
        let scale = 10u64.pow(exponent);
        format!(
            "{}.{:0width$}",
            units / scale,
            units % scale,
            width = exponent as usize
        )
    };
    let code = currency.trim().to_uppercase();
    if code.is_empty() {
        format!("{sign}{number}")
    } else {
        format!("{sign}{number} {code}")
    }
}

/// [`money`] for amounts that may be missing: `-`.
pub fn money_or_dash(amount: Option<i64>, currency: Option<&str>) -> String {
    amount.map_or_else(|| "-".into(), |a| money(a, currency.unwrap_or("")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_uses_the_currency_exponent_and_no_float() {
        assert_eq!(money(1250, "usd"), "12.50 USD");
        assert_eq!(money(5, "eur"), "0.05 EUR");
        assert_eq!(money(-50, "usd"), "-0.50 USD");
        assert_eq!(money(500, "jpy"), "500 JPY");
        assert_eq!(money(1234, "kwd"), "1.234 KWD");
        assert_eq!(money(i64::MIN, "usd"), "-92233720368547758.08 USD");
        assert_eq!(money_or_dash(None, Some("usd")), "-");
        assert_eq!(money_or_dash(Some(700), None), "7.00");
    }

    #[test]
    fn prices_become_exact_minor_units() {
        assert_eq!(
            parse_price("15.00 USD").map(|m| (m.amount, m.currency.as_str().to_string())),
            Some((1500, "usd".into()))
        );
        assert_eq!(parse_price("15 USD").unwrap().amount, 1500);
        assert_eq!(parse_price("0.1 EUR").unwrap().amount, 10);
        assert_eq!(parse_price("1500 JPY").unwrap().amount, 1500);
        assert_eq!(parse_price("1500.00 JPY").unwrap().amount, 1500);
        assert_eq!(parse_price("1.234 KWD").unwrap().amount, 1234);
        assert_eq!(parse_price("19.99 usd").unwrap().amount, 1999);
    }

    #[test]
    fn malformed_prices_are_refused_not_rounded() {
        for bad in [
            "15.001 USD",
            "-1.00 USD",
            "15,00 EUR",
            "15.00",
            "USD 15.00",
            "15. USD",
            "1.5 JPY",
            "15.00 US",
            "",
            "99999999999999999999 USD",
        ] {
            assert!(parse_price(bad).is_none(), "{bad}");
        }
    }
}
