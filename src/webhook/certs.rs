//! The webhook's certificates, made and judged without I/O: a CA (10 years) and a serving
//! certificate it signs (1 year) for the webhook's host names, both ECDSA P-256 through
//! `rcgen` on `ring` (the crypto provider the tree already has). Upstream's
//! `internal/cert` keeps the same lifetimes and renews 90 days before expiry.
//!
//! The CA is not kept in memory anywhere but the Secret: its key and fixed name are enough to
//! sign again, so rotating the serving certificate keeps the CA (and the CRDs' `caBundle`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// Secret key of the CA certificate(s), PEM: the current CA first, then a previous one that is
/// still valid (so the bundle trusts both while a CA rotation rolls out).
pub const CA_CERT: &str = "ca.crt";
/// Secret key of the CA's private key, PEM (PKCS#8).
pub const CA_KEY: &str = "ca.key";
/// Secret key of the serving certificate, PEM (a `kubernetes.io/tls` Secret's).
pub const TLS_CERT: &str = "tls.crt";
/// Secret key of the serving certificate's private key, PEM.
pub const TLS_KEY: &str = "tls.key";

const DAY: u64 = 24 * 3600;
/// How long a CA is valid.
pub const CA_VALIDITY: Duration = Duration::from_secs(3650 * DAY);
/// How long a serving certificate is valid.
pub const SERVING_VALIDITY: Duration = Duration::from_secs(365 * DAY);
/// A certificate is renewed when it would expire within this long.
pub const RENEW_BEFORE: Duration = Duration::from_secs(90 * DAY);
const CA_NAME: &str = "dynamo-operator-webhook-ca";

/// The four PEM texts the Secret holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bundle {
    /// [`CA_CERT`].
    pub ca_cert: String,
    /// [`CA_KEY`].
    pub ca_key: String,
    /// [`TLS_CERT`].
    pub cert: String,
    /// [`TLS_KEY`].
    pub key: String,
}

/// What to do with the certificates found in the Secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Both valid for long enough, for the right hosts: reuse them.
    Keep,
    /// The CA is good; sign a new serving certificate with it.
    NewServing,
    /// Missing, unreadable or expiring CA: a new CA and serving certificate.
    NewAll,
}

/// Judges an existing bundle at `now`: `hosts_match` says whether the serving certificate was
/// issued for the hosts wanted today (the caller records them beside the Secret's data).
pub fn judge(bundle: Option<&Bundle>, hosts_match: bool, now: SystemTime) -> Verdict {
    let Some(b) = bundle else {
        return Verdict::NewAll;
    };
    let good_until =
        |pem: &str, margin: Duration| not_after(pem).is_some_and(|end| end > now + margin);
    // The CA must outlive any serving certificate it signs from now on.
    if !good_until(&b.ca_cert, SERVING_VALIDITY + RENEW_BEFORE)
        || KeyPair::from_pem(&b.ca_key).is_err()
    {
        return Verdict::NewAll;
    }
    if !hosts_match || !good_until(&b.cert, RENEW_BEFORE) || KeyPair::from_pem(&b.key).is_err() {
        return Verdict::NewServing;
    }
    Verdict::Keep
}

/// Makes what `verdict` asks for: a new serving certificate for `hosts` signed by the
/// existing CA, or a new CA too (keeping the old CA in the bundle while it is still valid).
pub fn issue(
    existing: Option<&Bundle>,
    verdict: Verdict,
    hosts: &[String],
    now: SystemTime,
) -> Result<Bundle, String> {
    let fail = |what: &str, e: rcgen::Error| format!("{what}: {e}");
    let (ca_cert, ca_key) = match (verdict, existing) {
        (Verdict::Keep, Some(b)) => return Ok(b.clone()),
        (Verdict::NewServing, Some(b)) => (b.ca_cert.clone(), b.ca_key.clone()),
        _ => {
            let key = KeyPair::generate().map_err(|e| fail("generating the CA key", e))?;
            let mut params = ca_params();
            set_validity(&mut params, now, CA_VALIDITY);
            let cert = params
                .self_signed(&key)
                .map_err(|e| fail("signing the CA", e))?;
            let mut pem = cert.pem();
            // The previous CA stays trusted while it is valid: replicas still serving a
            // certificate it signed keep working until they pick up the new one.
            if let Some(old) = existing.and_then(|b| first_pem(&b.ca_cert))
                && not_after(&old).is_some_and(|end| end > now)
            {
                pem.push_str(&old);
            }
            (pem, key.serialize_pem())
        }
    };
    let ca_key_pair = KeyPair::from_pem(&ca_key).map_err(|e| fail("reading the CA key", e))?;
    let issuer = Issuer::new(ca_params(), ca_key_pair);
    let key = KeyPair::generate().map_err(|e| fail("generating the serving key", e))?;
    let mut params =
        CertificateParams::new(hosts.to_vec()).map_err(|e| fail("the webhook's host names", e))?;
    params.distinguished_name.push(
        DnType::CommonName,
        hosts.first().cloned().unwrap_or_default(),
    );
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    set_validity(&mut params, now, SERVING_VALIDITY);
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(|e| fail("signing the serving certificate", e))?;
    Ok(Bundle {
        ca_cert,
        ca_key,
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// The names the API server may use to reach the webhook through `service` in `namespace`
/// (`clientConfig.service` makes it `<service>.<namespace>.svc`), plus `extra` hosts (the
/// host of `--webhook-url` when running outside the cluster).
pub fn hosts(service: &str, namespace: &str, extra: Option<&str>) -> Vec<String> {
    let mut out = vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ];
    out.extend(extra.map(str::to_string));
    out
}

fn ca_params() -> CertificateParams {
    // The issuer of every serving certificate is this name and the CA's key: both are all
    // that signing needs, so the CA certificate itself is never parsed.
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, CA_NAME);
    name.push(DnType::OrganizationName, "dynamoctl");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

/// Valid from the day before `now` (clocks of the API server and the operator may differ) for
/// `validity`, at day granularity.
fn set_validity(params: &mut CertificateParams, now: SystemTime, validity: Duration) {
    let day = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / DAY;
    let date = |days: u64| {
        let (y, m, d) = civil_from_days(days as i64);
        rcgen::date_time_ymd(y as i32, m as u8, d as u8)
    };
    params.not_before = date(day.saturating_sub(1));
    params.not_after = date(day + validity.as_secs() / DAY);
}

/// The first certificate of a PEM text, as PEM.
fn first_pem(pem: &str) -> Option<String> {
    const END: &str = "-----END CERTIFICATE-----";
    let start = pem.find("-----BEGIN CERTIFICATE-----")?;
    let end = pem[start..].find(END)? + start + END.len();
    Some(format!("{}\n", &pem[start..end]))
}

/// The `notAfter` of the first certificate in a PEM text; `None` when it cannot be read.
pub fn not_after(pem: &str) -> Option<SystemTime> {
    let first = first_pem(pem)?;
    let body: String = first.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.trim())
        .ok()?;
    let (_, cert, _) = tlv(&der)?; // Certificate
    let (_, mut tbs, _) = tlv(cert)?; // TBSCertificate
    let (tag, _, rest) = tlv(tbs)?;
    if tag == 0xa0 {
        tbs = rest; // [0] version
    }
    for _ in 0..3 {
        tbs = tlv(tbs)?.2; // serialNumber, signature, issuer
    }
    let (_, validity, _) = tlv(tbs)?;
    let (_, after) = {
        let (_, _, rest) = tlv(validity)?; // notBefore
        let (tag, value, _) = tlv(rest)?;
        (tag, parse_time(tag, value)?)
    };
    Some(after)
}

/// One DER element: (tag, contents, the rest).
fn tlv(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = data.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// UTCTime (`YYMMDDHHMMSSZ`) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn parse_time(tag: u8, value: &[u8]) -> Option<SystemTime> {
    let text = std::str::from_utf8(value).ok()?.strip_suffix('Z')?;
    let num = |s: &str| s.parse::<i64>().ok();
    let (year, rest) = match tag {
        0x17 if text.len() == 12 => {
            let yy = num(&text[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        0x18 if text.len() == 14 => (num(&text[..4])?, &text[4..]),
        _ => return None,
    };
    let days = days_from_civil(year, num(&rest[..2])?, num(&rest[2..4])?);
    let secs =
        days * DAY as i64 + num(&rest[4..6])? * 3600 + num(&rest[6..8])? * 60 + num(&rest[8..10])?;
    Some(UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(days * DAY + 3600)
    }

    #[test]
    fn dates_round_trip() {
        for days in [0, 59, 60, 365, 10_957, 20_000, 40_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(20_423), (2025, 12, 1));
    }

    #[test]
    fn issue_judge_and_rotate() {
        let now = at(20_423);
        let hosts = hosts("svc", "ns", Some("127.0.0.1"));
        assert_eq!(judge(None, true, now), Verdict::NewAll);
        let first = issue(None, Verdict::NewAll, &hosts, now).unwrap();
        // The validity written is the validity read back.
        assert_eq!(
            not_after(&first.cert),
            Some(UNIX_EPOCH + Duration::from_secs((20_423 + 365) * DAY))
        );
        assert_eq!(
            not_after(&first.ca_cert),
            Some(UNIX_EPOCH + Duration::from_secs((20_423 + 3650) * DAY))
        );
        assert_eq!(judge(Some(&first), true, now), Verdict::Keep);
        assert_eq!(judge(Some(&first), false, now), Verdict::NewServing);
        // 300 days on, the serving certificate has 65 days left: renewed, same CA.
        let later = at(20_423 + 300);
        assert_eq!(judge(Some(&first), true, later), Verdict::NewServing);
        let renewed = issue(Some(&first), Verdict::NewServing, &hosts, later).unwrap();
        assert_eq!(renewed.ca_cert, first.ca_cert);
        assert_ne!(renewed.cert, first.cert);
        assert_eq!(judge(Some(&renewed), true, later), Verdict::Keep);
        // Near the CA's end: everything new, the old CA still in the bundle.
        let late = at(20_423 + 3650 - 400);
        assert_eq!(judge(Some(&renewed), true, late), Verdict::NewAll);
        let rotated = issue(Some(&renewed), Verdict::NewAll, &hosts, late).unwrap();
        assert!(rotated.ca_cert.ends_with(&first.ca_cert));
        assert_eq!(rotated.ca_cert.matches("BEGIN CERTIFICATE").count(), 2);
        assert_eq!(judge(Some(&rotated), true, late), Verdict::Keep);
        // Garbage in the Secret is never trusted.
        let broken = Bundle {
            cert: "junk".into(),
            ..rotated.clone()
        };
        assert_eq!(judge(Some(&broken), true, late), Verdict::NewServing);
        let broken = Bundle {
            ca_key: "junk".into(),
            ..rotated
        };
        assert_eq!(judge(Some(&broken), true, late), Verdict::NewAll);
    }
}
