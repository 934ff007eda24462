//! Date arithmetic on the RFC 3339 UTC strings a snapshot stores
//! (`2026-11-21T23:59:00Z`), without a clock or a date library.

/// Seconds since 1970-01-01T00:00:00Z, for `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
pub fn epoch_seconds(text: &str) -> Option<i64> {
    let (date, time) = text.trim_end_matches('Z').split_once('T')?;
    let mut date = date.split('-').map(|part| part.parse::<i64>().ok());
    let (year, month, day) = (date.next()??, date.next()??, date.next()??);
    let mut time = time.split(':');
    let hour: i64 = time.next()?.parse().ok()?;
    let minute: i64 = time.next()?.parse().ok()?;
    let second: f64 = time.next()?.parse().ok()?;
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second as i64)
}

/// Days since the epoch of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the epoch (the inverse of
/// [`epoch_seconds`]; Howard Hinnant's `civil_from_days`).
pub fn rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// Seconds from `start` to `end`, when both parse.
pub fn seconds_between(start: &str, end: &str) -> Option<i64> {
    Some(epoch_seconds(end)? - epoch_seconds(start)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_snapshot_timestamps() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_seconds("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(
            epoch_seconds("2026-11-21T23:59:00.123Z"),
            Some(1_795_305_540)
        );
        assert_eq!(
            seconds_between("2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z"),
            Some(86_400)
        );
        assert_eq!(epoch_seconds("yesterday"), None);
        for text in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2026-11-21T23:59:00Z",
        ] {
            assert_eq!(rfc3339(epoch_seconds(text).unwrap()), text);
        }
    }
}
