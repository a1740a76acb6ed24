//! Reading a configuration file: YAML with positions, the schema derived from the types
//! (unknown keys, types), then the values themselves (addresses, names, durations).

use std::sync::OnceLock;

use serde_json::Value;

use super::duration::parse_go_duration;
use super::types::{API_VERSION, KIND, OperatorConfiguration};
use crate::manifest::{Problem, display_path};
use crate::yaml::Position;

/// See [`super::parse`].
pub fn parse(file: &str, text: &str) -> Result<OperatorConfiguration, Vec<Problem>> {
    let problem = |position: Position, path: &[String], message: String| Problem {
        file: file.to_string(),
        position,
        subject: KIND.to_string(),
        path: display_path(path),
        message,
    };
    let mut documents = crate::yaml::parse_documents(text).map_err(|e| {
        vec![problem(
            e.position,
            &[],
            format!("invalid YAML: {}", e.message),
        )]
    })?;
    let document = match documents.len() {
        0 => return Ok(OperatorConfiguration::default()),
        1 => documents.remove(0),
        n => {
            return Err(vec![problem(
                documents[1].position_of(&[]),
                &[],
                format!("the file holds {n} YAML documents; a configuration is one"),
            )]);
        }
    };
    let at = |path: &[String], message: String| problem(document.position_of(path), path, message);

    let mut problems: Vec<Problem> = crate::api::schema::validate(schema(), &document.value, None)
        .into_iter()
        .map(|v| at(&v.path, v.message))
        .collect();
    for (key, expected) in [("apiVersion", API_VERSION), ("kind", KIND)] {
        if let Some(actual) = document.value.get(key).and_then(Value::as_str)
            && actual != expected
        {
            problems.push(at(
                &[key.to_string()],
                format!("expected \"{expected}\", got \"{actual}\""),
            ));
        }
    }
    // Check the values of everything the schema accepted too, so one run reports every
    // problem: without the fields at fault the rest still reads.
    let mut value = document.value.clone();
    for p in &violations_paths(&problems) {
        remove(&mut value, p);
    }
    value.as_object_mut().map(|m| {
        m.remove("apiVersion");
        m.remove("kind")
    });
    match serde_json::from_value::<OperatorConfiguration>(value) {
        Ok(config) => problems.extend(check_values(&config, &at)),
        Err(e) if problems.is_empty() => problems.push(at(&[], format!("cannot be read: {e}"))),
        Err(_) => {}
    }
    problems.sort_by_key(|p| p.position);
    if problems.is_empty() {
        serde_json::from_value(document.value.clone()).map_err(|e| vec![at(&[], e.to_string())])
    } else {
        Err(problems)
    }
}

/// The field paths of problems, as segments.
fn violations_paths(problems: &[Problem]) -> Vec<Vec<String>> {
    problems
        .iter()
        .map(|p| {
            p.path
                .split('.')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

fn remove(value: &mut Value, path: &[String]) {
    match path {
        [] => *value = Value::Object(Default::default()),
        [last] => {
            if let Some(map) = value.as_object_mut() {
                map.remove(last);
            }
        }
        [first, rest @ ..] => {
            if let Some(child) = value.get_mut(first.as_str()) {
                remove(child, rest);
            }
        }
    }
}

/// The schema of the file, derived once from the types (so it can never disagree with them).
fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let generator = schemars::generate::SchemaSettings::openapi3()
            .with(|s| s.inline_subschemas = true)
            .into_generator();
        let schema = generator.into_root_schema_for::<OperatorConfiguration>();
        serde_json::to_value(schema).expect("the configuration schema serialises")
    })
}

fn seg(path: &[&str]) -> Vec<String> {
    path.iter().map(|s| s.to_string()).collect()
}

fn check_values(
    c: &OperatorConfiguration,
    at: &dyn Fn(&[String], String) -> Problem,
) -> Vec<Problem> {
    let mut out = Vec::new();
    // Returns whether the value was at fault.
    let mut check =
        |path: &[&str], value: &Option<String>, problem: &dyn Fn(&str) -> Option<String>| {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty())
                && let Some(message) = problem(v)
            {
                out.push(at(&seg(path), message));
                return true;
            }
            false
        };
    let infra = &c.infrastructure;
    check(
        &["infrastructure", "etcdAddress"],
        &infra.etcd_address,
        &|v| {
            (!v.split(',').all(is_etcd_endpoint)).then(|| format!(
            "\"{v}\" is not an etcd endpoint: use host:port or http(s)://host:port, comma-separated for several"
        ))
        },
    );
    check(
        &["infrastructure", "natsAddress"],
        &infra.nats_address,
        &|v| {
            (!v.split(',').all(is_nats_url)).then(|| format!(
            "\"{v}\" is not a NATS URL: use nats://host:port (or tls://host:port), comma-separated for several"
        ))
        },
    );
    for (key, value) in [
        ("modelExpressURL", &infra.model_express_url),
        ("prometheusEndpoint", &infra.prometheus_endpoint),
    ] {
        check(&["infrastructure", key], value, &|v| {
            (!is_http_url(v)).then(|| format!("\"{v}\" is not an http(s):// URL"))
        });
    }
    check(&["ingress", "hostSuffix"], &c.ingress.host_suffix, &|v| {
        (!is_dns_subdomain(v)).then(|| format!(
            "\"{v}\" is not a DNS name: use lowercase letters, digits, '-' and '.', e.g. example.com"
        ))
    });
    for (key, value) in [
        ("controllerClassName", &c.ingress.controller_class_name),
        (
            "controllerTLSSecretName",
            &c.ingress.controller_tls_secret_name,
        ),
    ] {
        check(&["ingress", key], value, &|v| {
            (!is_dns_subdomain(v)).then(|| format!("\"{v}\" is not a valid object name"))
        });
    }
    check(&["discovery", "backend"], &c.discovery.backend, &|v| {
        (!matches!(v, "kubernetes" | "etcd"))
            .then(|| format!("unsupported value \"{v}\": must be one of \"kubernetes\", \"etcd\""))
    });
    check(&["logging", "format"], &c.logging.format, &|v| {
        (!matches!(v, "json" | "text"))
            .then(|| format!("unsupported value \"{v}\": must be one of \"json\", \"text\""))
    });
    let namespace_name = |v: &str| {
        (!is_dns_label(v)).then(|| {
            format!(
                "\"{v}\" is not a namespace name: use at most 63 lowercase letters, digits and '-'"
            )
        })
    };
    check(
        &["namespace", "restricted"],
        &c.namespace.restricted,
        &namespace_name,
    );
    check(
        &["leaderElection", "namespace"],
        &c.leader_election.namespace,
        &namespace_name,
    );
    check(
        &["mpi", "sshSecretNamespace"],
        &c.mpi.ssh_secret_namespace,
        &namespace_name,
    );
    check(&["mpi", "sshSecretName"], &c.mpi.ssh_secret_name, &|v| {
        (!is_dns_subdomain(v)).then(|| format!("\"{v}\" is not a valid Secret name"))
    });
    check(&["leaderElection", "id"], &c.leader_election.id, &|v| {
        (!is_dns_subdomain(v)).then(|| format!("\"{v}\" is not a valid Lease name"))
    });

    let duration = |v: &str| match parse_go_duration(v) {
        Some(d) if !d.is_zero() => None,
        Some(_) => Some(format!("\"{v}\" must be longer than zero")),
        None => Some(format!(
            "\"{v}\" is not a duration: use e.g. 30s, 15m, 4h or 1h30m"
        )),
    };
    let scope = &c.namespace.scope;
    let mut leases_ok = true;
    for (path, value) in [
        (
            &["namespace", "scope", "leaseDuration"][..],
            &scope.lease_duration,
        ),
        (
            &["namespace", "scope", "leaseRenewInterval"][..],
            &scope.lease_renew_interval,
        ),
    ] {
        leases_ok &= !check(path, value, &duration);
    }
    check(
        &["orchestrators", "grove", "terminationDelay"],
        &c.orchestrators.grove.termination_delay,
        &duration,
    );
    if leases_ok && c.lease_renew_interval() >= c.lease_duration() {
        let fmt = crate::install::format_duration;
        out.push(at(
            &seg(&["namespace", "scope", "leaseRenewInterval"]),
            format!(
                "{} must be shorter than leaseDuration ({}), or the marker expires between renewals",
                fmt(c.lease_renew_interval()),
                fmt(c.lease_duration())
            ),
        ));
    }
    out
}

/// Whether `s` is a DNS-1123 label (namespace names, instance names).
pub(crate) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// `host[:port]` where host is a DNS name or an IPv4 address.
fn is_host_port(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    let host = host.to_ascii_lowercase();
    port_ok && !host.is_empty() && is_dns_subdomain(&host)
}

fn is_etcd_endpoint(s: &str) -> bool {
    let s = s.trim();
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .unwrap_or(s);
    !rest.contains("://") && is_host_port(rest.trim_end_matches('/'))
}

fn is_nats_url(s: &str) -> bool {
    let s = s.trim();
    s.strip_prefix("nats://")
        .or_else(|| s.strip_prefix("tls://"))
        .is_some_and(|rest| {
            // nats://user:password@host:port is a valid NATS URL.
            let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
            is_host_port(host)
        })
}

fn is_http_url(s: &str) -> bool {
    s.strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .is_some_and(|rest| {
            let host = rest.split(['/', '?']).next().unwrap_or_default();
            is_host_port(host)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert!(is_etcd_endpoint(
            "etcd.dynamo-system.svc.cluster.local:2379"
        ));
        assert!(is_etcd_endpoint("http://10.0.0.1:2379"));
        assert!(is_etcd_endpoint("https://etcd"));
        assert!(!is_etcd_endpoint("ftp://etcd:2379"));
        assert!(!is_etcd_endpoint("etcd:port"));
        assert!(is_nats_url("nats://nats:4222"));
        assert!(is_nats_url("nats://user:secret@nats:4222"));
        assert!(!is_nats_url("nats:4222"));
        assert!(is_http_url("http://prometheus-server.monitoring:9090/api"));
        assert!(!is_http_url("prometheus:9090"));
    }
}
