//! Building conditions so that an unchanged world gives a byte-identical status: the
//! controller compares and skips the write, which is how it reaches zero writes at steady
//! state (upstream stamps `lastTransitionTime` with now on every reconcile).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// What a new condition says; [`condition`] adds the transition time.
pub(crate) struct Observed<'a> {
    /// `type`, e.g. `Ready`.
    pub type_: &'a str,
    /// `True`, `False` or `Unknown`.
    pub status: &'a str,
    /// CamelCase or upstream's snake_case reason.
    pub reason: &'a str,
    /// Human-readable detail.
    pub message: String,
    /// The generation of the object the condition describes.
    pub observed_generation: Option<i64>,
}

/// The condition `observed`, with the previous condition's `lastTransitionTime` when its
/// status is the same, and `now` otherwise.
pub(crate) fn condition(
    observed: Observed<'_>,
    previous: Option<&[Condition]>,
    now: &Time,
) -> Condition {
    let last_transition_time = previous
        .into_iter()
        .flatten()
        .find(|c| c.type_ == observed.type_ && c.status == observed.status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| whole_seconds(now));
    Condition {
        last_transition_time,
        message: observed.message,
        observed_generation: observed.observed_generation,
        reason: observed.reason.to_string(),
        status: observed.status.to_string(),
        type_: observed.type_.to_string(),
    }
}

/// `now` without its fraction of a second. `metav1.Time` is written with second precision,
/// so this is exactly what reading the status back returns, and comparing a computed status
/// with a stored one never differs by nanoseconds.
pub(crate) fn whole_seconds(now: &Time) -> Time {
    Time(Timestamp::from_second(now.0.as_second()).unwrap_or(now.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Time {
        Time(Timestamp::from_second(second).unwrap())
    }

    fn ready(status: &str) -> Observed<'_> {
        Observed {
            type_: "Ready",
            status,
            reason: "r",
            message: "m".into(),
            observed_generation: Some(1),
        }
    }

    #[test]
    fn transition_time_moves_only_on_status_change() {
        let first = condition(ready("False"), None, &at(100));
        assert_eq!(first.last_transition_time, at(100));
        let same = condition(ready("False"), Some(std::slice::from_ref(&first)), &at(200));
        assert_eq!(same.last_transition_time, at(100));
        let flipped = condition(ready("True"), Some(&[first]), &at(300));
        assert_eq!(flipped.last_transition_time, at(300));
    }

    #[test]
    fn now_is_truncated_to_seconds() {
        let now = Time(Timestamp::new(100, 999_999_999).unwrap());
        assert_eq!(
            condition(ready("True"), None, &now).last_transition_time,
            at(100)
        );
    }
}
