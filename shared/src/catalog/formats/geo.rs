//! Geographic codes: ISO 3166-1 countries, subdivision (region) codes, and US postal
//! areas as shipping entries name them.

use super::{is_digits, split_once_byte};

/// ISO 3166-1 alpha-2 codes, plus XK (Kosovo, user-assigned but what Stripe and the card
/// networks use).
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// Bit `b` of word `a` set when `[A + a, A + b]` is a code.
const COUNTRY_TABLE: [u32; 26] = {
    let mut table = [0u32; 26];
    let s = COUNTRIES.as_bytes();
    let mut i = 0;
    while i + 1 < s.len() {
        table[(s[i] - b'A') as usize] |= 1 << (s[i + 1] - b'A');
        i += 3;
    }
    table
};

#[inline]
pub(crate) fn is_country(s: &str) -> bool {
    match s.as_bytes() {
        [a @ b'A'..=b'Z', b @ b'A'..=b'Z'] => {
            COUNTRY_TABLE[(a - b'A') as usize] & (1 << (b - b'A')) != 0
        }
        _ => false,
    }
}

/// A subdivision code as in ISO 3166-2 after the country prefix (`CA`, `NY`, `BY`, `75`).
#[inline]
pub(crate) fn is_region(s: &str) -> bool {
    (1..=3).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A US shipping area given by postal code: `94012`, a range `73114-74547`, or a prefix
/// wildcard `94*`.
#[inline]
pub(crate) fn is_us_postal_area(s: &str) -> bool {
    let zip = |z: &str| z.len() == 5 && is_digits(z);
    if let Some(prefix) = s.strip_suffix('*') {
        return (1..=4).contains(&prefix.len()) && is_digits(prefix);
    }
    match split_once_byte(s, b'-') {
        Some((lo, hi)) => zip(lo) && zip(hi) && lo <= hi,
        None => zip(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(COUNTRIES.split(' ').count(), 250);
        assert!(COUNTRIES.split(' ').all(|c| c.len() == 2));
        assert!(is_country("US") && is_country("DE") && is_country("XK"));
        assert!(!is_country("UK") && !is_country("us") && !is_country("USA") && !is_country("ZZ"));
        assert!(is_region("CA") && is_region("75") && is_region("ALL"));
        assert!(is_us_postal_area("94012"));
        assert!(is_us_postal_area("73114-74547"));
        assert!(is_us_postal_area("94*"));
        assert!(!is_us_postal_area("74547-73114"));
        assert!(!is_us_postal_area("9401"));
        assert!(!is_us_postal_area("*"));
        assert!(!is_us_postal_area("94012*"));
    }
}
