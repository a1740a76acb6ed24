//! Reading manifests: multi-document YAML in, validated objects out, or every problem found
//! with its file, line and column. Dynamo kinds are checked strictly against their CRD schema
//! (unknown fields, types, enums, bounds) and its CEL rules, exactly what the API server would
//! enforce; other kinds pass through unchanged. Both `nvidia.com/v1alpha1` and
//! `nvidia.com/v1beta1` are read; v1beta1 objects are converted to the v1alpha1 model (see
//! [`crate::api::convert`]), and problems found later (render) are still reported at the
//! v1beta1 field. Fields of upstream features dynamoctl does not implement are refused by name
//! ([`unsupported`]). Pure: the caller reads the files.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde_json::Value;

use crate::api::convert::{self, V1ALPHA1, V1BETA1};
use crate::api::schema::ObjectSchema;
use crate::api::{DynamoComponentDeployment, DynamoGraphDeployment};
use crate::yaml::{self, Document, Position};

/// One object read from a manifest.
#[derive(Clone, Debug)]
pub enum Object {
    /// A DynamoGraphDeployment.
    Graph(Box<DynamoGraphDeployment>),
    /// A DynamoComponentDeployment.
    Component(Box<DynamoComponentDeployment>),
    /// Anything else, passed through as written.
    Other(Value),
}

impl Object {
    /// The object as JSON.
    pub fn to_value(&self) -> Value {
        match self {
            Object::Graph(g) => serde_json::to_value(g).expect("graph serialises"),
            Object::Component(c) => serde_json::to_value(c).expect("component serialises"),
            Object::Other(v) => v.clone(),
        }
    }
}

/// An object with where it came from.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The object.
    pub object: Object,
    /// The file (or `<stdin>`) it was read from.
    pub file: String,
    /// Its YAML document, for positions of fields.
    pub document: Document,
    /// The `apiVersion` as written (Dynamo kinds are held as v1alpha1 whatever it was).
    pub api_version: String,
}

impl Manifest {
    /// Builds a problem report about the field at `path` of this manifest. `path` is in
    /// v1alpha1 terms (`spec.services.<key>...`); for a v1beta1 manifest it is reported at the
    /// matching component (`spec.components[i]...`), as deep as the document has the field.
    pub fn problem(&self, subject: &str, path: &[String], message: &str) -> Problem {
        let path = self.wire_path(path);
        Problem {
            file: self.file.clone(),
            position: self.document.position_of(&path),
            subject: subject.to_string(),
            path: display_path(&path),
            message: message.to_string(),
        }
    }

    fn wire_path(&self, path: &[String]) -> Vec<String> {
        let (Some(key), true) = (
            path.get(2),
            self.api_version == V1BETA1 && path.starts_with(&["spec".into(), "services".into()]),
        ) else {
            return path.to_vec();
        };
        let components = self.document.value.pointer("/spec/components");
        let Some(i) = components.and_then(Value::as_array).and_then(|l| {
            l.iter()
                .position(|c| c.get("name").and_then(Value::as_str) == Some(key))
        }) else {
            return path.to_vec();
        };
        let mut out = vec!["spec".to_string(), "components".into(), i.to_string()];
        for segment in &path[3..] {
            out.push(segment.clone());
            if !self.document.positions.contains_key(&out.join("/")) {
                out.pop();
                break;
            }
        }
        out
    }
}

/// A problem with an input: what, and where (file, line:column, object, field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: String,
    /// Line and column of the field (or document) at fault.
    pub position: Position,
    /// `Kind name` of the object, empty when the document is not an object.
    pub subject: String,
    /// The field at fault, e.g. `spec.services.Frontend.replicas`; empty for the whole object.
    pub path: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:", self.file, self.position)?;
        if !self.subject.is_empty() {
            write!(f, " {}:", self.subject)?;
        }
        if !self.path.is_empty() {
            write!(f, " {}:", self.path)?;
        }
        write!(f, " {}", self.message)
    }
}

/// What [`parse`] found: the objects, and warnings about deprecated fields.
#[derive(Clone, Debug, Default)]
pub struct Parsed {
    /// The objects, in input order.
    pub manifests: Vec<Manifest>,
    /// Accepted but noteworthy input (deprecated, ignored fields).
    pub warnings: Vec<Problem>,
}

/// Parses and validates one file's text. Objects of Dynamo kinds without a namespace get
/// `default_namespace`. Returns every problem found, not just the first.
pub fn parse(file: &str, text: &str, default_namespace: &str) -> Result<Parsed, Vec<Problem>> {
    let documents = yaml::parse_documents(text).map_err(|e| {
        vec![Problem {
            file: file.to_string(),
            position: e.position,
            subject: String::new(),
            path: String::new(),
            message: format!("invalid YAML: {}", e.message),
        }]
    })?;
    let mut parsed = Parsed::default();
    let mut problems = Vec::new();
    for document in documents {
        match read_object(file, document, default_namespace, &mut parsed.warnings) {
            Ok(m) => parsed.manifests.push(m),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(parsed)
    } else {
        Err(problems)
    }
}

fn read_object(
    file: &str,
    document: Document,
    default_namespace: &str,
    warnings: &mut Vec<Problem>,
) -> Result<Manifest, Vec<Problem>> {
    let api_version = document
        .value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut manifest = Manifest {
        object: Object::Other(Value::Null),
        file: file.to_string(),
        document,
        api_version,
    };
    let value = &manifest.document.value;
    let fail = |subject: &str, path: &[&str], message: String| {
        let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        vec![manifest.problem(subject, &path, &message)]
    };
    if !value.is_object() {
        return Err(fail("", &[], "document is not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)".into()));
    }
    let Some(kind) = value
        .get("kind")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
    else {
        return Err(fail(
            "",
            &["kind"],
            "is missing: every object needs apiVersion and kind".into(),
        ));
    };
    let Some(api_version) = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
    else {
        return Err(fail(
            kind,
            &["apiVersion"],
            "is missing: every object needs apiVersion and kind".into(),
        ));
    };
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    if name.is_empty() {
        return Err(fail(
            kind,
            &["metadata", "name"],
            "is required: every object needs a name".into(),
        ));
    }
    let namespace = value
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or(default_namespace);
    let subject = format!("{kind} {namespace}/{name}");
    let is_dynamo = matches!(kind, "DynamoGraphDeployment" | "DynamoComponentDeployment");
    if !is_dynamo {
        // Our other kinds are checked against their schemas; anything else passes through.
        let problems = match kind {
            _ if api_version != V1ALPHA1 => Vec::new(),
            "DynamoGraphDeploymentScalingAdapter" => crate::api::scaling_adapter::check(value),
            "DynamoModel" => crate::api::model::check(value),
            _ => Vec::new(),
        };
        if !problems.is_empty() {
            return Err(problems
                .into_iter()
                .map(|(path, message)| Problem {
                    file: manifest.file.clone(),
                    position: manifest.document.position_of(&path),
                    subject: subject.clone(),
                    path: display_path(&path),
                    message,
                })
                .collect());
        }
        manifest.object = Object::Other(value.clone());
        return Ok(manifest);
    }
    let problems = check(&manifest.document);
    if !problems.is_empty() {
        return Err(problems
            .iter()
            .map(|(path, message)| {
                let path: Vec<String> = path.clone();
                Problem {
                    file: manifest.file.clone(),
                    position: manifest.document.position_of(&path),
                    subject: subject.clone(),
                    path: display_path(&path),
                    message: message.clone(),
                }
            })
            .collect());
    }
    let refused = unsupported(&manifest, &subject);
    if !refused.is_empty() {
        return Err(refused);
    }
    let mut clean = crate::api::schema::prune_nulls(value);
    if clean.pointer("/metadata/namespace").is_none() {
        clean["metadata"]["namespace"] = Value::String(default_namespace.to_string());
    }
    if api_version == V1BETA1 {
        let converted = convert::convert_value(&clean, V1ALPHA1).map_err(|e| {
            let path: Vec<&str> = e.path.iter().map(String::as_str).collect();
            fail(&subject, &path, e.message)
        })?;
        clean = converted;
    }
    let typed = |e: serde_json::Error| fail(&subject, &[], format!("cannot be read: {e}"));
    manifest.object = if kind == "DynamoGraphDeployment" {
        let graph: DynamoGraphDeployment = serde_json::from_value(clean).map_err(typed)?;
        for (key, service) in graph.spec.services.iter().flatten() {
            let at = |field: &str| {
                vec![
                    "spec".to_string(),
                    "services".into(),
                    key.clone(),
                    field.into(),
                ]
            };
            if service.dynamo_namespace.is_some() {
                warnings.push(manifest.problem(&subject, &at("dynamoNamespace"), "dynamoNamespace is deprecated and ignored: the Dynamo namespace is <namespace>-<graph> (or dynamo with globalDynamoNamespace)"));
            }
            if service.autoscaling.is_some() {
                warnings.push(manifest.problem(
                    &subject,
                    &at("autoscaling"),
                    "autoscaling is deprecated and ignored: no HorizontalPodAutoscaler is created",
                ));
            }
        }
        Object::Graph(Box::new(graph))
    } else {
        Object::Component(Box::new(serde_json::from_value(clean).map_err(typed)?))
    };
    Ok(manifest)
}

/// Every problem with a Dynamo object's document, as (path, message), without reading it
/// into types: a known `apiVersion`, the shape of that version (a v1beta1 graph has
/// `spec.components`, a v1alpha1 graph `spec.services`), then the version's CRD schema and CEL
/// rules. Empty for other kinds.
pub fn check(document: &Document) -> Vec<(Vec<String>, String)> {
    let value = &document.value;
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !convert::is_convertible_kind(kind) {
        return Vec::new();
    }
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let at = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    if api_version != V1ALPHA1 && api_version != V1BETA1 {
        return vec![(
            at(&["apiVersion"]),
            format!("{kind} is served as {V1ALPHA1} and {V1BETA1}, not {api_version}"),
        )];
    }
    if kind == "DynamoGraphDeployment" {
        let spec = value.get("spec");
        let has = |f: &str| spec.and_then(|s| s.get(f)).is_some();
        if api_version == V1BETA1 && has("services") {
            return vec![(
                at(&["spec", "services"]),
                format!(
                    "is the {V1ALPHA1} shape: a {V1BETA1} graph lists spec.components, each with a name (convert with `dynamoctl convert -f FILE --output-version {V1BETA1}`, or write apiVersion {V1ALPHA1})"
                ),
            )];
        }
        if let Some(list) = spec
            .filter(|_| api_version == V1BETA1)
            .and_then(|s| s.get("components"))
            .and_then(Value::as_array)
        {
            // The CEL rule says names must be unique; this says which ones are not.
            let names: Vec<Option<&str>> = list
                .iter()
                .map(|c| c.get("name").and_then(Value::as_str))
                .collect();
            for (i, name) in names.iter().enumerate() {
                let Some(name) = name else { continue };
                if let Some(first) = names[..i]
                    .iter()
                    .position(|n| n.is_some_and(|n| n.eq_ignore_ascii_case(name)))
                {
                    return vec![(
                        at(&["spec", "components", &i.to_string(), "name"]),
                        format!(
                            "component name \"{name}\" is already used by spec.components[{first}] (\"{}\"): names must be unique, ignoring case, because they name the children",
                            names[first].unwrap_or_default()
                        ),
                    )];
                }
            }
        }
        if api_version == V1ALPHA1 && has("components") {
            return vec![(
                at(&["spec", "components"]),
                format!(
                    "is the {V1BETA1} shape: a {V1ALPHA1} graph has a spec.services map (write apiVersion {V1BETA1}, or convert with `dynamoctl convert -f FILE --output-version {V1ALPHA1}`)"
                ),
            )];
        }
    }
    schema_of(kind, api_version)
        .validate(value, None)
        .into_iter()
        .map(|v| (v.path, v.message))
        .collect()
}

/// Fields of upstream features dynamoctl does not implement, by version: rendering them
/// would silently drop what they ask for, so they are refused by name instead.
const UNSUPPORTED_GRAPH: &[(&str, &str)] = &[
    (
        "annotations",
        "propagating graph-level annotations to every child",
    ),
    ("labels", "propagating graph-level labels to every child"),
    ("priorityClassName", "Grove PodCliqueSets"),
    ("providerOverride", "Grove provider overrides"),
    ("topologyConstraint", "topology-aware scheduling (Grove)"),
    ("experimental", "preview features (kvTransferPolicy)"),
];
const UNSUPPORTED_COMPONENT: &[(&str, &str)] = &[
    ("providerOverride", "Grove provider overrides"),
    (
        "runtimeVersionOverride",
        "rendering for another Dynamo runtime version",
    ),
    ("minAvailable", "Grove gang scheduling"),
    ("eppConfig", "the endpoint picker (epp)"),
    ("frontendSidecar", "frontend sidecars"),
    ("checkpoint", "checkpoint/restore"),
    ("topologyConstraint", "topology-aware scheduling (Grove)"),
    ("gpuMemoryService", "the GPU memory service"),
    ("failover", "failover"),
    (
        "experimental",
        "preview features (gpuMemoryService, failover, grove, checkpoint)",
    ),
];

/// Refuses, by field, what dynamoctl cannot render faithfully: the upstream 1.x features in
/// [`UNSUPPORTED_GRAPH`] and [`UNSUPPORTED_COMPONENT`], the `epp` component type and multinode
/// role overrides. Run on the object as written, so the paths are those of its version.
/// `dynamoctl convert` does not call it: conversion carries every field.
pub fn unsupported(manifest: &Manifest, subject: &str) -> Vec<Problem> {
    unsupported_fields(&manifest.document.value)
        .into_iter()
        .map(|(path, what)| {
            let field = path.last().cloned().unwrap_or_default();
            let message = format!(
                "{field} asks for {what}, which dynamoctl does not support yet: remove it to render here, or deploy this graph with upstream's operator"
            );
            Problem {
                file: manifest.file.clone(),
                position: manifest.document.position_of(&path),
                subject: subject.to_string(),
                path: display_path(&path),
                message,
            }
        })
        .collect()
}

/// What [`unsupported`] refuses in an object (as JSON, in either version): each field's path
/// and what it asks for. A `null` field is absent.
pub fn unsupported_fields(value: &Value) -> Vec<(Vec<String>, &'static str)> {
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !convert::is_convertible_kind(kind) {
        return Vec::new();
    }
    let set = |v: &Value, field: &str| v.get(field).is_some_and(|f| !f.is_null());
    let mut out = Vec::new();
    let spec = value.get("spec").cloned().unwrap_or(Value::Null);
    let mut components: Vec<(Vec<String>, &Value)> = Vec::new();
    if kind == "DynamoGraphDeployment" {
        for (field, what) in UNSUPPORTED_GRAPH {
            if set(&spec, field) {
                out.push((vec!["spec".into(), field.to_string()], *what));
            }
        }
        if let Some(services) = spec.get("services").and_then(Value::as_object) {
            for (key, c) in services {
                components.push((vec!["spec".into(), "services".into(), key.clone()], c));
            }
        }
        for (i, c) in spec
            .get("components")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            components.push((vec!["spec".into(), "components".into(), i.to_string()], c));
        }
    } else {
        components.push((vec!["spec".into()], &spec));
    }
    for (at, c) in components {
        let here = |f: &[&str]| {
            let mut p = at.clone();
            p.extend(f.iter().map(|s| s.to_string()));
            p
        };
        for (field, what) in UNSUPPORTED_COMPONENT {
            if set(c, field) {
                out.push((here(&[field]), *what));
            }
        }
        // Upstream's only role setting is a Grove providerOverride that sets the leader or
        // worker clique's topologyConstraint: one piece of topology-aware scheduling, which is
        // refused as a whole (component and graph providerOverride and topologyConstraint).
        for role in ["leader", "worker"] {
            if c.pointer(&format!("/multinode/{role}"))
                .is_some_and(|v| !v.is_null())
            {
                out.push((
                    here(&["multinode", role]),
                    "a Grove provider override of the multinode role's clique (its topologyConstraint: topology-aware scheduling)",
                ));
            }
        }
        let ty = ["type", "componentType"]
            .iter()
            .find(|f| c.get(**f).and_then(Value::as_str) == Some("epp"));
        if let Some(ty) = ty {
            out.push((here(&[ty]), "the endpoint picker (epp)"));
        }
    }
    out
}

/// For an object read from a cluster (the operator's view, v1alpha1): one message naming
/// every refused field, or `None`. Fields only v1beta1 can say are kept in the private
/// `nvidia.com/dgd-spec`/`dcd-spec` payload of a v1alpha1 object, so the object's v1beta1
/// form is checked too and its findings named with their v1beta1 paths.
pub fn refused_in_cluster_object(value: &Value) -> Option<String> {
    let mut found: Vec<String> = Vec::new();
    // A field both views show (most of them) is named once, by its v1alpha1 path.
    let mut seen: Vec<(String, &str)> = Vec::new();
    let mut say = |prefix: &str, fields: Vec<(Vec<String>, &'static str)>| {
        for (path, what) in fields {
            let key = (path.last().cloned().unwrap_or_default(), what);
            if !seen.contains(&key) {
                found.push(format!("{prefix}{} asks for {what}", display_path(&path)));
                seen.push(key);
            }
        }
    };
    say("", unsupported_fields(value));
    let preserved = value
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .is_some_and(|a| {
            a.keys()
                .any(|k| k == convert::preserve::DGD_SPEC || k == convert::preserve::DCD_SPEC)
        });
    if preserved && let Ok(beta) = convert::convert_value(value, convert::V1BETA1) {
        say("(as nvidia.com/v1beta1) ", unsupported_fields(&beta));
    }
    (!found.is_empty()).then(|| {
        format!(
            "{}, which dynamoctl does not support yet: remove {}, or deploy this graph with upstream's operator",
            found.join("; "),
            if found.len() == 1 { "it" } else { "them" }
        )
    })
}

/// The schema of a Dynamo kind in a version. The schemas are embedded as generated JSON
/// (`src/api/crd_schemas.json`, kept in sync by `dynamoctl generate` and a test) because
/// deriving them at run time costs ~150 ms, most of a `render` process; each kind's CEL rules
/// are compiled once per process, and only for the kinds and versions the input contains.
fn schema_of(kind: &str, api_version: &str) -> &'static ObjectSchema {
    // Only the schema at hand is parsed: the file holds four (both versions of both kinds),
    // and parsing all of them was a quarter of a `render` process.
    static ALL: OnceLock<BTreeMap<&'static str, &'static serde_json::value::RawValue>> =
        OnceLock::new();
    static CELLS: [OnceLock<ObjectSchema>; 4] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let all = ALL.get_or_init(|| {
        serde_json::from_str(include_str!("api/crd_schemas.json"))
            .expect("embedded schemas are JSON")
    });
    let beta = api_version == V1BETA1;
    let graph = kind == "DynamoGraphDeployment";
    let key = if beta {
        format!("{V1BETA1}/{kind}")
    } else {
        kind.to_string()
    };
    CELLS[usize::from(beta) * 2 + usize::from(graph)].get_or_init(|| {
        ObjectSchema::new(
            serde_json::from_str(all[key.as_str()].get()).expect("embedded schemas are JSON"),
        )
    })
}

/// `spec.services.Frontend.envs[0].name` from path segments.
pub fn display_path(path: &[String]) -> String {
    let mut out = String::new();
    for segment in path {
        if !segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit()) && !out.is_empty() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    out
}
