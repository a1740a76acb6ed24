//! Reading manifests: multi-document YAML in, validated objects out, or every problem found
//! with its file, line and column. Dynamo kinds are checked strictly against their CRD schema
//! (unknown fields, types, enums, bounds) and its CEL rules, exactly what the API server would
//! enforce; other kinds pass through unchanged. Pure: the caller reads the files.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use serde_json::Value;

use crate::api::consts::API_VERSION;
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
}

impl Manifest {
    /// Builds a problem report about the field at `path` of this manifest.
    pub fn problem(&self, subject: &str, path: &[String], message: &str) -> Problem {
        Problem {
            file: self.file.clone(),
            position: self.document.position_of(path),
            subject: subject.to_string(),
            path: display_path(path),
            message: message.to_string(),
        }
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
    let mut manifest = Manifest {
        object: Object::Other(Value::Null),
        file: file.to_string(),
        document,
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
        manifest.object = Object::Other(value.clone());
        return Ok(manifest);
    }
    if api_version != API_VERSION {
        return Err(fail(
            &subject,
            &["apiVersion"],
            format!("{kind} is served as {API_VERSION}, not {api_version}"),
        ));
    }
    let schema = schema_of(kind);
    let violations = schema.validate(value, None);
    if !violations.is_empty() {
        return Err(violations
            .iter()
            .map(|v| manifest.problem(&subject, &v.path, &v.message))
            .collect());
    }
    let mut clean = crate::api::schema::prune_nulls(value);
    if clean.pointer("/metadata/namespace").is_none() {
        clean["metadata"]["namespace"] = Value::String(default_namespace.to_string());
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

/// The schema of a Dynamo kind. The schemas are embedded as generated JSON
/// (`src/api/crd_schemas.json`, kept in sync by `dynamoctl generate` and a test) because
/// deriving them at run time costs ~150 ms, most of a `render` process; each kind's CEL rules
/// are compiled once per process, and only for kinds the input contains.
fn schema_of(kind: &str) -> &'static ObjectSchema {
    static ALL: OnceLock<BTreeMap<String, Value>> = OnceLock::new();
    static GRAPH: OnceLock<ObjectSchema> = OnceLock::new();
    static COMPONENT: OnceLock<ObjectSchema> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        serde_json::from_str(include_str!("api/crd_schemas.json"))
            .expect("embedded schemas are JSON")
    });
    let cell = if kind == "DynamoGraphDeployment" {
        &GRAPH
    } else {
        &COMPONENT
    };
    cell.get_or_init(|| ObjectSchema::new(all[kind].clone()))
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
