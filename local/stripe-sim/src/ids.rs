//! Object ids shaped like Stripe's: a type prefix, then random alphanumerics.
//!
//! Clients (and our own webhook handler) sometimes branch on the prefix (`cs_`, `pi_`,
//! `ch_`), so the prefixes and rough lengths match what test-mode Stripe hands out.

const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub fn random_alphanumeric(len: usize) -> String {
    (0..len)
        .map(|_| char::from(ALPHANUMERIC[fastrand::usize(..ALPHANUMERIC.len())]))
        .collect()
}

fn random_digits(len: usize) -> String {
    (0..len)
        .map(|_| char::from(b'0' + fastrand::u8(..10)))
        .collect()
}

pub fn checkout_session() -> String {
    format!("cs_test_a1{}", random_alphanumeric(58))
}

pub fn payment_intent() -> String {
    format!("pi_3{}", random_alphanumeric(23))
}

pub fn charge() -> String {
    format!("ch_3{}", random_alphanumeric(23))
}

pub fn refund() -> String {
    format!("re_3{}", random_alphanumeric(23))
}

pub fn dispute() -> String {
    format!("dp_1{}", random_alphanumeric(23))
}

pub fn event() -> String {
    format!("evt_1{}", random_alphanumeric(23))
}

pub fn line_item() -> String {
    format!("li_1{}", random_alphanumeric(23))
}

pub fn product() -> String {
    format!("prod_{}", random_alphanumeric(14))
}

pub fn price() -> String {
    format!("price_1{}", random_alphanumeric(23))
}

pub fn tax_rate() -> String {
    format!("txr_1{}", random_alphanumeric(23))
}

pub fn shipping_rate() -> String {
    format!("shr_1{}", random_alphanumeric(23))
}

pub fn application_fee() -> String {
    format!("fee_1{}", random_alphanumeric(23))
}

/// The `id` of a checkout hook request (one per agent attempt; a retry reuses it).
pub fn hook_request() -> String {
    format!("dchk_req_{}", random_alphanumeric(24))
}

pub fn payment_method() -> String {
    format!("pm_1{}", random_alphanumeric(23))
}

pub fn request() -> String {
    format!("req_{}", random_alphanumeric(14))
}

pub fn file() -> String {
    format!("file_1{}", random_alphanumeric(23))
}

pub fn import_set() -> String {
    format!("impset_{}", random_alphanumeric(24))
}

pub fn catalog_import() -> String {
    format!("pcimprt_{}", random_alphanumeric(24))
}

/// v2 event ids are longer than v1's and carry the mode.
pub fn v2_event() -> String {
    format!("evt_test_{}", random_alphanumeric(40))
}

/// The unguessable part of a pre-signed upload or download URL.
pub fn url_token() -> String {
    random_alphanumeric(40)
}

/// Stripe prints receipt numbers as two groups of four digits.
pub fn receipt_number() -> String {
    format!("{}-{}", random_digits(4), random_digits(4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_lengths_look_like_stripe() {
        let cs = checkout_session();
        assert!(cs.starts_with("cs_test_a1"));
        assert_eq!(cs.len(), 68);
        assert!(payment_intent().starts_with("pi_3"));
        assert_eq!(payment_intent().len(), 27);
        assert!(charge().starts_with("ch_3"));
        assert!(event().starts_with("evt_1"));
        assert!(request().starts_with("req_"));
        let receipt = receipt_number();
        assert_eq!(receipt.len(), 9);
        assert_eq!(receipt.as_bytes()[4], b'-');
        assert!(
            cs[3..]
                .chars()
                .all(|c| c == '_' || c.is_ascii_alphanumeric())
        );
    }

    #[test]
    fn ids_differ() {
        assert_ne!(charge(), charge());
    }
}
