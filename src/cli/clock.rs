//! The CLI's clock. `DYNAMOCTL_NOW` (RFC 3339) pins it, so tests of ages and lease expiry
//! print stable output.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// Now, or the pinned time.
pub fn now() -> Time {
    let pinned = std::env::var("DYNAMOCTL_NOW")
        .ok()
        .and_then(|t| t.parse::<Timestamp>().ok());
    Time(pinned.unwrap_or_else(Timestamp::now))
}
