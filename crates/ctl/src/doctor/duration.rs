//! Pacemaker's durations, as `stonith-timeout` and `pcmk_*_timeout` are written: a whole number
//! with an optional unit (`60`, `60s`, `90sec`, `2min`, `2m`, `1h`, `1hr`, `500ms`, `us`),
//! seconds when there is none, blanks allowed around it and before the unit, as Pacemaker's
//! `crm_get_msec` reads them; and the ISO 8601 form Pacemaker also takes for intervals
//! (`PT1M30S`, `P1DT2H`).

use std::time::Duration;

/// The duration, or `None` when Pacemaker would not read it either (it then uses the default).
pub fn parse(text: &str) -> Option<Duration> {
    let text = text.trim();
    if let Some(iso) = text.strip_prefix(['P', 'p']) {
        return iso8601(iso);
    }
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let n: u64 = text[..digits].parse().ok()?;
    let unit_ms: u64 = match text[digits..].trim().to_ascii_lowercase().as_str() {
        "" | "s" | "sec" => 1000,
        "ms" | "msec" => 1,
        "us" | "usec" => return Some(Duration::from_micros(n)),
        "m" | "min" => 60_000,
        "h" | "hr" => 3_600_000,
        _ => return None,
    };
    n.checked_mul(unit_ms).map(Duration::from_millis)
}

/// `[nY][nM][nW][nD][T[nH][nM][nS]]` after the `P`, whole numbers only; a month is 30 days and
/// a year 365, as Pacemaker counts them in an interval.
fn iso8601(text: &str) -> Option<Duration> {
    let (date, time) = match text.split_once(['T', 't']) {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (text, None),
    };
    const DAY: u64 = 86_400;
    let date_units = [
        ('Y', 365 * DAY),
        ('M', 30 * DAY),
        ('W', 7 * DAY),
        ('D', DAY),
    ];
    let mut secs = fields(date, &date_units)?;
    if let Some(t) = time {
        secs = secs.checked_add(fields(t, &[('H', 3600), ('M', 60), ('S', 1)])?)?;
    }
    (!(date.is_empty() && time.is_none())).then_some(Duration::from_secs(secs))
}

/// The sum of `<n><unit>` fields, units in the order given, each at most once.
fn fields(mut text: &str, units: &[(char, u64)]) -> Option<u64> {
    let mut total = 0u64;
    let mut next = 0;
    while !text.is_empty() {
        let digits = text.find(|c: char| !c.is_ascii_digit())?;
        let n: u64 = text[..digits].parse().ok()?;
        let unit = text[digits..].chars().next()?.to_ascii_uppercase();
        let at = units[next..].iter().position(|(u, _)| *u == unit)? + next;
        total = total.checked_add(n.checked_mul(units[at].1)?)?;
        next = at + 1;
        text = &text[digits + 1..];
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Option<u64> {
        parse(text).map(|d| d.as_secs())
    }

    #[test]
    fn pacemakers_units_and_plain_seconds() {
        for (text, want) in [
            ("60", 60),
            ("60s", 60),
            (" 60 s ", 60),
            ("90sec", 90),
            ("2min", 120),
            ("2m", 120),
            ("1h", 3600),
            ("1hr", 3600),
            ("2MIN", 120),
        ] {
            assert_eq!(secs(text), Some(want), "{text}");
        }
        assert_eq!(parse("1500ms"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("10us"), Some(Duration::from_micros(10)));
    }

    #[test]
    fn iso_8601_durations() {
        assert_eq!(secs("PT60S"), Some(60));
        assert_eq!(secs("PT1M30S"), Some(90));
        assert_eq!(secs("P1DT2H"), Some(26 * 3600));
        assert_eq!(secs("P1W"), Some(7 * 86_400));
        for bad in ["P", "PT", "PT1S1M", "PT1.5S", "P1H", "PTS"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn what_pacemaker_would_not_read_is_none() {
        for bad in [
            "",
            "s",
            "-5",
            "1.5s",
            "60 seconds",
            "60x",
            "99999999999999999999",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
