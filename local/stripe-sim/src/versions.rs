//! `Stripe-Version` values: `YYYY-MM-DD.name` (a bare date for old versions), possibly
//! followed by `;`-separated beta flags such as `embedded_connect_beta=v2`. Versions compare
//! by their date part: `2026-06-24.dahlia` and `2026-06-24.preview` are the same age.

/// A parsed `Stripe-Version` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version<'a> {
    /// The version itself, without beta flags (`2026-06-24.dahlia`).
    pub name: &'a str,
    /// `YYYY-MM-DD`, which orders versions.
    pub date: &'a str,
    /// The beta flags after the version, trimmed (`embedded_connect_beta=v2`).
    pub betas: Vec<&'a str>,
}

fn is_date(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// `None` when the value does not start with a `YYYY-MM-DD` date (optionally `.name`).
pub fn parse(header: &str) -> Option<Version<'_>> {
    let mut parts = header.split(';').map(str::trim);
    let name = parts.next()?;
    let date = name.get(..10).filter(|d| is_date(d))?;
    let rest = &name[10..];
    if !(rest.is_empty() || rest.len() > 1 && rest.starts_with('.')) {
        return None;
    }
    Some(Version {
        name,
        date,
        betas: parts.filter(|p| !p.is_empty()).collect(),
    })
}

impl Version<'_> {
    /// Whether this version is `needed` or later (by date). `needed` is a valid version.
    pub fn at_least(&self, needed: &str) -> bool {
        parse(needed).is_some_and(|needed| self.date >= needed.date)
    }

    pub fn has_beta(&self, flag: &str) -> bool {
        self.betas.contains(&flag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_the_version_from_its_beta_flags() {
        let v = parse("2026-06-24.dahlia; embedded_connect_beta=v2;").unwrap();
        assert_eq!(v.name, "2026-06-24.dahlia");
        assert_eq!(v.date, "2026-06-24");
        assert_eq!(v.betas, ["embedded_connect_beta=v2"]);
        assert!(v.has_beta("embedded_connect_beta=v2"));
        assert!(!v.has_beta("embedded_connect_beta=v1"));
        let v = parse("2025-09-30.clover;udap_beta=v1").unwrap();
        assert_eq!(
            (v.name, v.betas.as_slice()),
            ("2025-09-30.clover", &["udap_beta=v1"][..])
        );
        assert_eq!(parse("2020-08-27").map(|v| v.date), Some("2020-08-27"));
    }

    #[test]
    fn anything_but_a_dated_version_is_not_a_version() {
        for bad in [
            "",
            "latest",
            "dahlia",
            "2026-6-24.dahlia",
            "2026-06-24dahlia",
            "2026-06-24.",
            " ; x=v1",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn compares_by_date_only() {
        let v = parse("2026-06-24.preview").unwrap();
        assert!(v.at_least("2026-06-24.dahlia"));
        assert!(v.at_least("2026-04-22.dahlia"));
        assert!(!v.at_least("2026-06-25.dahlia"));
        assert!(
            !parse("2025-12-15.preview")
                .unwrap()
                .at_least("2026-04-22.dahlia")
        );
    }
}
