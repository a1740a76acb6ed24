//! Ages as `kubectl get` prints them (`duration.HumanDuration` in apimachinery), so a
//! `dynamoctl status` table reads like the `kubectl get` next to it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// The time from `created` to `now` in kubectl's style: `45s` and up to `119s`, then `2m30s`
/// below 10 minutes, `42m` below 3 hours, `5h10m` below 8 hours, `20h` below 2 days,
/// `3d4h` below 8 days, `30d` below 2 years, `2y100d` below 8 years, then `9y`. A time
/// slightly in the future (clock skew under 2 s) gives `0s`, further gives `<invalid>`.
pub fn age(created: &Time, now: &Time) -> String {
    let nanos = now.0.as_nanosecond() - created.0.as_nanosecond();
    // Go's int(d.Seconds()) truncates toward zero.
    let seconds = nanos / NANOS_PER_SECOND;
    if seconds < -1 {
        return "<invalid>".to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return with_remainder(minutes, "m", seconds % 60, "s");
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return with_remainder(hours, "h", minutes % 60, "m");
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    let days = hours / 24;
    if hours < 24 * 8 {
        return with_remainder(days, "d", hours % 24, "h");
    }
    if hours < 24 * 365 * 2 {
        return format!("{days}d");
    }
    let years = days / 365;
    if hours < 24 * 365 * 8 {
        return with_remainder(years, "y", days % 365, "d");
    }
    format!("{years}y")
}

/// `3m` or `3m20s`: kubectl leaves out a zero second unit.
fn with_remainder(major: i128, major_unit: &str, minor: i128, minor_unit: &str) -> String {
    if minor == 0 {
        format!("{major}{major_unit}")
    } else {
        format!("{major}{major_unit}{minor}{minor_unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::jiff::Timestamp;

    fn age_of(seconds: i64) -> String {
        let now = Time(Timestamp::from_second(1_800_000_000).unwrap());
        let created = Time(Timestamp::from_second(1_800_000_000 - seconds).unwrap());
        age(&created, &now)
    }

    #[test]
    fn matches_kubectl_human_duration() {
        let cases = [
            (-5, "<invalid>"),
            (-1, "0s"),
            (0, "0s"),
            (45, "45s"),
            (119, "119s"),
            (120, "2m"),
            (150, "2m30s"),
            (599, "9m59s"),
            (600, "10m"),
            (3 * 3600 - 1, "179m"),
            (3 * 3600, "3h"),
            (5 * 3600 + 10 * 60 + 7, "5h10m"),
            (8 * 3600, "8h"),
            (47 * 3600, "47h"),
            (48 * 3600, "2d"),
            (3 * 86400 + 4 * 3600, "3d4h"),
            (8 * 86400, "8d"),
            (729 * 86400, "729d"),
            (730 * 86400, "2y"),
            (830 * 86400, "2y100d"),
            (8 * 365 * 86400, "8y"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(age_of(seconds), expected, "{seconds}s");
        }
    }

    #[test]
    fn sub_second_parts_truncate() {
        let now = Time(Timestamp::new(1_800_000_120, 100).unwrap());
        let created = Time(Timestamp::new(1_800_000_000, 200).unwrap());
        assert_eq!(age(&created, &now), "119s");
    }
}
