//! Calendar dates and ISO 8601 instants, parsed by hand: no allocation, no time crate,
//! and only the shapes the feed spec allows.

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some(u32::from(a - b'0') * 10 + u32::from(c - b'0')),
        _ => None,
    }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD`, a real calendar day. Returns days since the epoch.
pub(crate) fn date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = i64::from(two_digits(&b[0..2])? * 100 + two_digits(&b[2..4])?);
    let month = two_digits(&b[5..7])?;
    let day = two_digits(&b[8..10])?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

/// An ISO 8601 instant: a date (midnight UTC) or a date-time with a time zone,
/// `YYYY-MM-DDThh:mm[:ss[.fff]](Z|±hh:mm)`. Returns seconds since the epoch. A date-time
/// without a zone is refused: it names a different instant in every zone.
#[inline]
pub(crate) fn instant(s: &str) -> Option<i64> {
    if s.len() == 10 {
        return date(s).map(|d| d * 86_400);
    }
    let b = s.as_bytes();
    if b.len() < 17 || !matches!(b[10], b'T' | b't') {
        return None;
    }
    let days = date(s.get(..10)?)?;
    let hour = two_digits(&b[11..13])?;
    if b[13] != b':' {
        return None;
    }
    let minute = two_digits(&b[14..16])?;
    let mut rest = &b[16..];
    let mut second = 0;
    if let [b':', s1, s2, tail @ ..] = rest {
        second = two_digits(&[*s1, *s2])?;
        rest = tail;
        if let [b'.', tail @ ..] = rest {
            let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 {
                return None;
            }
            rest = &tail[digits..];
        }
    }
    // 60 admits a leap second; it is no later than the next minute's first second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let oh = two_digits(&[*h1, *h2])?;
            let om = two_digits(&[*m1, *m2])?;
            if oh > 23 || om > 59 {
                return None;
            }
            let off = i64::from(oh * 3600 + om * 60);
            if *sign == b'+' { off } else { -off }
        }
        _ => return None,
    };
    Some(days * 86_400 + i64::from(hour * 3600 + minute * 60 + second) - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_instants() {
        assert_eq!(date("1970-01-01"), Some(0));
        assert_eq!(date("2024-02-29"), Some(19_782));
        assert_eq!(date("2023-02-29"), None);
        assert!(date("2000-02-29").is_some());
        assert_eq!(date("1900-02-29"), None);
        for bad in [
            "2024-13-01",
            "2024-00-10",
            "2024-1-01",
            "2024/01/01",
            "24-01-01",
            "2024-01-32",
        ] {
            assert_eq!(date(bad), None, "{bad}");
        }
        assert_eq!(instant("1970-01-02"), Some(86_400));
        assert_eq!(instant("1970-01-01T01:00:00Z"), Some(3600));
        assert_eq!(instant("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(instant("1970-01-01T00:00-00:30"), Some(1800));
        assert_eq!(instant("1970-01-01T00:00:00.123Z"), Some(0));
        for bad in [
            "1970-01-01T00:00:00",
            "1970-01-01 00:00:00Z",
            "1970-01-01T24:00:00Z",
            "1970-01-01T00:00:00.Z",
            "1970-01-01T00:00:00+0100",
        ] {
            assert_eq!(instant(bad), None, "{bad}");
        }
    }
}
