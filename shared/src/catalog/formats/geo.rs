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

/// A US shipping area given by postal code, in one of the forms FEED lists for a
/// `shipping` entry (docs/stripe.md §2.2). Borrowed from the field: parsing allocates
/// nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UsPostalArea<'a> {
    /// `94012`
    Code(&'a str),
    /// `73114-74547`: both ends included.
    Range(&'a str, &'a str),
    /// `94*`: every code starting with the prefix.
    Prefix(&'a str),
    /// `94*-95*`: every code whose first digits (as many as each prefix has) lie between the
    /// two prefixes, both included. FEED shows the form without defining it; this is the
    /// reading of Google's feed spec, where it comes from (docs/stripe.md §2.2).
    PrefixRange(&'a str, &'a str),
}

impl<'a> UsPostalArea<'a> {
    /// The area, or why `s` is not one (for a row error).
    #[inline]
    pub(crate) fn parse(s: &'a str) -> Result<Self, &'static str> {
        let zip = |z: &str| z.len() == 5 && is_digits(z);
        // 1 to 4 digits then `*`: five digits are a whole code, not a prefix.
        let prefix = |p: &'a str| {
            p.strip_suffix('*')
                .filter(|d| (1..=4).contains(&d.len()) && is_digits(d))
        };
        let Some((lo, hi)) = split_once_byte(s, b'-') else {
            if zip(s) {
                return Ok(Self::Code(s));
            }
            return prefix(s).map(Self::Prefix).ok_or(
                "a US postal area is 5 digits (`94012`), a range (`73114-74547`), 1 to 4 digits and `*` (`94*`) or a wildcard range (`94*-95*`)",
            );
        };
        if zip(lo) && zip(hi) {
            return if lo <= hi {
                Ok(Self::Range(lo, hi))
            } else {
                Err("the range starts above its end")
            };
        }
        match (prefix(lo), prefix(hi)) {
            (Some(l), Some(h)) if l.len() != h.len() => {
                Err("the two prefixes of a wildcard range must have the same number of digits")
            }
            (Some(l), Some(h)) if l > h => Err("the wildcard range starts above its end"),
            (Some(l), Some(h)) => Ok(Self::PrefixRange(l, h)),
            _ if lo.ends_with('*') || hi.ends_with('*') => Err(
                "a wildcard range is two prefixes of 1 to 4 digits, each followed by `*` (`94*-95*`)",
            ),
            _ => Err("a range is two 5-digit codes (`73114-74547`)"),
        }
    }

    /// Whether the area holds `zip`, a buyer's 5-digit code.
    #[inline]
    pub(crate) fn contains(self, zip: &str) -> bool {
        if zip.len() != 5 || !is_digits(zip) {
            return false;
        }
        match self {
            Self::Code(code) => zip == code,
            // Same length, digits only: text order is numeric order.
            Self::Range(lo, hi) => lo <= zip && zip <= hi,
            Self::Prefix(p) => zip.starts_with(p),
            Self::PrefixRange(lo, hi) => {
                let head = &zip[..lo.len()];
                lo <= head && head <= hi
            }
        }
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
    }

    #[test]
    fn us_postal_areas() {
        use UsPostalArea::*;
        fn area(s: &str) -> Result<UsPostalArea<'_>, &'static str> {
            UsPostalArea::parse(s)
        }
        assert_eq!(area("94012"), Ok(Code("94012")));
        assert_eq!(area("73114-74547"), Ok(Range("73114", "74547")));
        assert_eq!(area("94*"), Ok(Prefix("94")));
        assert_eq!(area("94*-95*"), Ok(PrefixRange("94", "95")));
        assert_eq!(area("9410*-9410*"), Ok(PrefixRange("9410", "9410")));
        for bad in [
            "74547-73114",
            "9401",
            "*",
            "94012*",
            "94*-9x*",
            "94*-95123",
            "94123-95*",
            "95*-94*",
            "94*-955*",
            "*-95*",
            "94*-95*-96*",
            "94-95",
            "",
        ] {
            assert!(area(bad).is_err(), "{bad}");
        }
        let holds = |a: &str, zip: &str| area(a).unwrap().contains(zip);
        assert!(holds("94*-95*", "94105") && holds("94*-95*", "95014"));
        assert!(!holds("94*-95*", "93999") && !holds("94*-95*", "96001"));
        assert!(holds("070*-078*", "07000") && holds("070*-078*", "07899"));
        assert!(!holds("070*-078*", "07900") && !holds("070*-078*", "06999"));
        assert!(holds("73114-74547", "73114") && !holds("73114-74547", "74548"));
        assert!(holds("94*", "94999") && !holds("94*", "9499"));
        assert!(!holds("94012", "9401a"));
    }
}
