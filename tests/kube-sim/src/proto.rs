//! Decoding of the few Kubernetes protobuf request bodies real clients send.
//!
//! client-go's typed clientsets encode built-in objects as protobuf
//! (`application/vnd.kubernetes.protobuf`) by default; helm's release storage
//! writes its `sh.helm.release.v1.*` Secrets (and DeleteOptions) that way.
//! Responses are always JSON (clients accept it and decode by Content-Type), so
//! only request bodies need decoding: Secret, ConfigMap, Namespace,
//! ServiceAccount and DeleteOptions.
//! Other kinds are answered with 415, as a server that lacks a decoder does.

use serde_json::{Map, Value, json};

/// Media type of Kubernetes protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    /// Next (field number, value), None at the end or on malformed input.
    fn next(&mut self) -> Option<Result<(u64, Field<'a>), ()>> {
        if self.pos >= self.b.len() {
            return None;
        }
        let Some(tag) = self.varint() else {
            return Some(Err(()));
        };
        let field = match tag & 7 {
            0 => self.varint().map(Field::Varint),
            1 => {
                self.pos += 8;
                (self.pos <= self.b.len()).then_some(Field::Fixed)
            }
            2 => self.varint().and_then(|len| {
                let end = self.pos.checked_add(len as usize)?;
                let s = self.b.get(self.pos..end)?;
                self.pos = end;
                Some(Field::Bytes(s))
            }),
            5 => {
                self.pos += 4;
                (self.pos <= self.b.len()).then_some(Field::Fixed)
            }
            _ => None,
        };
        Some(field.map(|f| (tag >> 3, f)).ok_or(()))
    }
}

fn fields(b: &[u8]) -> Result<Vec<(u64, Field<'_>)>, String> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    while let Some(f) = r.next() {
        out.push(f.map_err(|_| "malformed protobuf".to_string())?);
    }
    Ok(out)
}

fn string(b: &[u8]) -> Result<String, String> {
    String::from_utf8(b.to_vec()).map_err(|_| "invalid UTF-8 in protobuf string".to_string())
}

fn map_entry(b: &[u8], bytes_value: bool) -> Result<(String, Value), String> {
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    for (n, f) in fields(b)? {
        if let Field::Bytes(x) = f {
            match n {
                1 => k = string(x)?,
                2 => {
                    v = if bytes_value {
                        Value::String(base64(x))
                    } else {
                        Value::String(string(x)?)
                    }
                }
                _ => {}
            }
        }
    }
    Ok((k, v))
}

fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    s
}

fn object_meta(b: &[u8]) -> Result<Value, String> {
    let mut m = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    let mut owners = Vec::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => _ = m.insert("name".into(), json!(string(x)?)),
            (2, Field::Bytes(x)) => _ = m.insert("generateName".into(), json!(string(x)?)),
            (3, Field::Bytes(x)) => _ = m.insert("namespace".into(), json!(string(x)?)),
            (5, Field::Bytes(x)) => _ = m.insert("uid".into(), json!(string(x)?)),
            (6, Field::Bytes(x)) => _ = m.insert("resourceVersion".into(), json!(string(x)?)),
            (11, Field::Bytes(x)) => {
                let (k, v) = map_entry(x, false)?;
                labels.insert(k, v);
            }
            (12, Field::Bytes(x)) => {
                let (k, v) = map_entry(x, false)?;
                annotations.insert(k, v);
            }
            (13, Field::Bytes(x)) => owners.push(owner_ref(x)?),
            (14, Field::Bytes(x)) => finalizers.push(json!(string(x)?)),
            _ => {} // server-set or unused fields (timestamps, managedFields, generation)
        }
    }
    for (k, v) in [
        ("labels", Value::Object(labels)),
        ("annotations", Value::Object(annotations)),
    ] {
        if v.as_object().is_some_and(|o| !o.is_empty()) {
            m.insert(k.into(), v);
        }
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    if !owners.is_empty() {
        m.insert("ownerReferences".into(), Value::Array(owners));
    }
    // proto2 writes empty optional strings; the server treats them as unset.
    m.retain(|_, v| v.as_str() != Some(""));
    Ok(Value::Object(m))
}

fn owner_ref(b: &[u8]) -> Result<Value, String> {
    let mut m = Map::new();
    for (n, f) in fields(b)? {
        match (n, f) {
            (1, Field::Bytes(x)) => _ = m.insert("kind".into(), json!(string(x)?)),
            (3, Field::Bytes(x)) => _ = m.insert("name".into(), json!(string(x)?)),
            (4, Field::Bytes(x)) => _ = m.insert("uid".into(), json!(string(x)?)),
            (5, Field::Bytes(x)) => _ = m.insert("apiVersion".into(), json!(string(x)?)),
            (6, Field::Varint(v)) => _ = m.insert("controller".into(), json!(v != 0)),
            (7, Field::Varint(v)) => _ = m.insert("blockOwnerDeletion".into(), json!(v != 0)),
            _ => {}
        }
    }
    Ok(Value::Object(m))
}

/// Decodes a protobuf request body (with the `k8s\0` envelope) into JSON.
pub fn decode(body: &[u8]) -> Result<Value, String> {
    let inner = body
        .strip_prefix(b"k8s\0")
        .ok_or("missing protobuf envelope")?;
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    for (n, f) in fields(inner)? {
        match (n, f) {
            (1, Field::Bytes(tm)) => {
                for (tn, tf) in fields(tm)? {
                    match (tn, tf) {
                        (1, Field::Bytes(x)) => api_version = string(x)?,
                        (2, Field::Bytes(x)) => kind = string(x)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(x)) => raw = x,
            _ => {}
        }
    }
    let mut out = json!({ "apiVersion": api_version, "kind": kind });
    match kind.as_str() {
        "Secret" | "ConfigMap" => {
            let (mut data, mut string_data, mut binary) = (Map::new(), Map::new(), Map::new());
            for (n, f) in fields(raw)? {
                match (kind.as_str(), n, f) {
                    (_, 1, Field::Bytes(x)) => out["metadata"] = object_meta(x)?,
                    ("Secret", 2, Field::Bytes(x)) => {
                        let (k, v) = map_entry(x, true)?;
                        data.insert(k, v);
                    }
                    ("Secret", 3, Field::Bytes(x)) => out["type"] = json!(string(x)?),
                    ("Secret", 4, Field::Bytes(x)) => {
                        let (k, v) = map_entry(x, false)?;
                        string_data.insert(k, v);
                    }
                    ("Secret", 5, Field::Varint(v)) | ("ConfigMap", 4, Field::Varint(v)) => {
                        out["immutable"] = json!(v != 0)
                    }
                    ("ConfigMap", 2, Field::Bytes(x)) => {
                        let (k, v) = map_entry(x, false)?;
                        data.insert(k, v);
                    }
                    ("ConfigMap", 3, Field::Bytes(x)) => {
                        let (k, v) = map_entry(x, true)?;
                        binary.insert(k, v);
                    }
                    _ => {}
                }
            }
            for (k, m) in [
                ("data", data),
                ("stringData", string_data),
                ("binaryData", binary),
            ] {
                if !m.is_empty() {
                    out[k] = Value::Object(m);
                }
            }
        }
        // `kubectl create namespace` / `create serviceaccount` send these.
        "Namespace" | "ServiceAccount" => {
            for (n, f) in fields(raw)? {
                match (kind.as_str(), n, f) {
                    (_, 1, Field::Bytes(x)) => out["metadata"] = object_meta(x)?,
                    ("Namespace", 2, Field::Bytes(spec)) => {
                        let mut fins = Vec::new();
                        for (sn, sf) in fields(spec)? {
                            if let (1, Field::Bytes(v)) = (sn, sf) {
                                fins.push(json!(string(v)?));
                            }
                        }
                        if !fins.is_empty() {
                            out["spec"] = json!({ "finalizers": fins });
                        }
                    }
                    ("ServiceAccount", 4, Field::Varint(v)) => {
                        out["automountServiceAccountToken"] = json!(v != 0)
                    }
                    _ => {}
                }
            }
        }
        "DeleteOptions" => {
            let mut dry = Vec::new();
            for (n, f) in fields(raw)? {
                match (n, f) {
                    (1, Field::Varint(v)) => out["gracePeriodSeconds"] = json!(v as i64),
                    (2, Field::Bytes(x)) => {
                        let mut pre = Map::new();
                        for (pn, pf) in fields(x)? {
                            match (pn, pf) {
                                (1, Field::Bytes(u)) => {
                                    _ = pre.insert("uid".into(), json!(string(u)?))
                                }
                                (2, Field::Bytes(r)) => {
                                    _ = pre.insert("resourceVersion".into(), json!(string(r)?))
                                }
                                _ => {}
                            }
                        }
                        out["preconditions"] = Value::Object(pre);
                    }
                    (3, Field::Varint(v)) => out["orphanDependents"] = json!(v != 0),
                    (4, Field::Bytes(x)) => out["propagationPolicy"] = json!(string(x)?),
                    (5, Field::Bytes(x)) => dry.push(json!(string(x)?)),
                    _ => {}
                }
            }
            if !dry.is_empty() {
                out["dryRun"] = Value::Array(dry);
            }
        }
        other => {
            return Err(format!(
                "protobuf bodies of kind {other:?} are not supported by kube-sim; send JSON"
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(n: u64, wt: u64) -> u8 {
        ((n << 3) | wt) as u8
    }

    fn ld(n: u64, b: &[u8]) -> Vec<u8> {
        let mut v = vec![tag(n, 2), b.len() as u8];
        v.extend_from_slice(b);
        v
    }

    #[test]
    fn decodes_a_secret() {
        let meta = [
            ld(1, b"s1"),
            ld(11, &[ld(1, b"owner"), ld(2, b"helm")].concat()),
        ]
        .concat();
        let secret = [
            ld(1, &meta),
            ld(2, &[ld(1, b"k"), ld(2, b"hi")].concat()),
            ld(3, b"helm.sh/release.v1"),
        ]
        .concat();
        let tm = [ld(1, b"v1"), ld(2, b"Secret")].concat();
        let body = [b"k8s\0".to_vec(), ld(1, &tm), ld(2, &secret)].concat();
        let v = decode(&body).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1", "labels": {"owner": "helm"}}, "data": {"k": "aGk="}, "type": "helm.sh/release.v1"})
        );
    }
}
