//! Container image references (`[registry[:port]/]path[:tag][@digest]`), checked the way the
//! container runtime would, so a typo fails at `dynamoctl install` and not as ImagePullBackOff.

use std::fmt;

/// A parsed image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Everything before the tag: `ghcr.io/dynamoctl/dynamoctl`.
    pub repository: String,
    /// The tag, if given.
    pub tag: Option<String>,
    /// The digest (`sha256:...`), if given.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses and checks a reference; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        let bad = |why: &str| format!("invalid image reference {text:?}: {why}");
        if text.is_empty() {
            return Err(bad("it is empty"));
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("it contains whitespace"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) => (r, Some(d)),
            None => (text, None),
        };
        if let Some(d) = digest {
            let ok = d.split_once(':').is_some_and(|(alg, hex)| {
                !alg.is_empty()
                    && alg
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
                    && hex.len() >= 32
                    && hex.chars().all(|c| c.is_ascii_hexdigit())
            });
            if !ok {
                return Err(bad("the digest must look like sha256:<64 hex digits>"));
            }
        }
        // A ':' after the last '/' starts the tag; before it, it is a registry port.
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (repository, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            let valid = !t.is_empty()
                && t.len() <= 128
                && !t.starts_with(['.', '-'])
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !valid {
                return Err(bad(
                    "the tag must be 1-128 of [A-Za-z0-9_.-], not starting with '.' or '-'",
                ));
            }
        }
        let mut parts: Vec<&str> = repository.split('/').collect();
        // The first part is a registry host when it has a '.' or ':' or is localhost.
        if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
            let host = parts.remove(0);
            let (name, port) = host.split_once(':').unwrap_or((host, ""));
            let name_ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'));
            if !name_ok || (host.contains(':') && port.parse::<u16>().is_err()) {
                return Err(bad(
                    "the registry must be a host name with an optional :port",
                ));
            }
        }
        for p in &parts {
            let valid = !p.is_empty()
                && p.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && p.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && p.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                });
            if !valid {
                return Err(bad(
                    "each path component must be lowercase letters, digits and . _ -, starting and ending with a letter or digit",
                ));
            }
        }
        Ok(ImageRef {
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest: digest.map(str::to_string),
        })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::ImageRef;

    #[test]
    fn parses_registry_port_tag_and_digest() {
        let r = ImageRef::parse("localhost:5000/team/op:v2.0.0-beta").unwrap();
        assert_eq!(r.repository, "localhost:5000/team/op");
        assert_eq!(r.tag.as_deref(), Some("v2.0.0-beta"));
        let r = ImageRef::parse("registry.example.com:443/op").unwrap();
        assert_eq!(r.repository, "registry.example.com:443/op");
        assert_eq!(r.tag, None);
        let d = format!("ghcr.io/a/b@sha256:{}", "a".repeat(64));
        assert_eq!(ImageRef::parse(&d).unwrap().to_string(), d);
    }

    #[test]
    fn rejects_what_a_runtime_would() {
        for bad in [
            "",
            "Upper/case",
            "a b",
            "repo:",
            "repo:-tag",
            "repo:ta/g",
            "reg.io:port/x",
            "x@sha256:zz",
            "/leading",
            "trailing-/x",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
