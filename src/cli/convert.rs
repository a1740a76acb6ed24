//! `dynamoctl convert -f FILE --output-version VERSION`: kubectl-convert for the Dynamo kinds,
//! offline. DynamoGraphDeployments and DynamoComponentDeployments are validated against
//! their version's schema, then converted losslessly by [`crate::api::convert`] (the same code
//! that reads v1beta1 manifests); every other object passes through unchanged.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use super::output::{self, ObjectFormat};
use crate::api::convert::{self, V1ALPHA1, V1BETA1};
use crate::error::Error;
use crate::manifest::{self, Problem, display_path};
use crate::yaml::{self, Document};

/// Arguments of `dynamoctl convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Files to convert (`-f -` reads standard input); multi-document YAML or JSON.
    #[arg(short = 'f', long = "filename", value_name = "FILE", required = true)]
    pub filenames: Vec<PathBuf>,
    /// The version to convert the Dynamo objects to.
    #[arg(long, value_name = "VERSION", value_parser = [V1BETA1, V1ALPHA1])]
    pub output_version: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = ObjectFormat::Yaml)]
    pub output: ObjectFormat,
}

/// Converts the files and prints the result; nothing is printed unless every object converts.
pub fn run(args: ConvertArgs) -> Result<ExitCode, Error> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for file in &args.filenames {
        let (name, text) = read(file)?;
        let documents = match yaml::parse_documents(&text) {
            Ok(d) => d,
            Err(e) => {
                problems.push(Problem {
                    file: name,
                    position: e.position,
                    subject: String::new(),
                    path: String::new(),
                    message: format!("invalid YAML: {}", e.message),
                });
                continue;
            }
        };
        for document in documents {
            match convert_document(&name, &document, &args.output_version) {
                Ok(v) => out.push(v),
                Err(mut p) => problems.append(&mut p),
            }
        }
    }
    if !problems.is_empty() {
        return Err(Error::Input(problems));
    }
    let text = output::objects(&out, args.output)?;
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map_err(|e| Error::Io(format!("cannot write output: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

fn convert_document(file: &str, document: &Document, to: &str) -> Result<Value, Vec<Problem>> {
    let value = &document.value;
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let subject = format!("{kind} {name}").trim().to_string();
    let problem = |path: Vec<String>, message: String| Problem {
        file: file.to_string(),
        position: document.position_of(&path),
        subject: subject.clone(),
        path: display_path(&path),
        message,
    };
    if !value.is_object() {
        return Err(vec![problem(
            vec![],
            "document is not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)".into(),
        )]);
    }
    let found = manifest::check(document);
    if !found.is_empty() {
        return Err(found.into_iter().map(|(p, m)| problem(p, m)).collect());
    }
    let clean = crate::api::schema::prune_nulls(value);
    convert::convert_value(&clean, to).map_err(|e| vec![problem(e.path, e.message)])
}

fn read(file: &PathBuf) -> Result<(String, String), Error> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Error::Io(format!("cannot read standard input: {e}")))?;
        return Ok(("<stdin>".to_string(), text));
    }
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::Usage(format!("cannot read {}: {e}", file.display())))?;
    Ok((file.display().to_string(), text))
}
