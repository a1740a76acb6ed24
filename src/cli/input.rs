//! Reading the files named on the command line (`-` is standard input).

use std::io::Read;
use std::path::PathBuf;

use crate::error::Error;
use crate::manifest::{self, Manifest, Object, Problem};
use crate::render::{RenderOptions, render_all};

/// Reads and validates every file; returns all objects, or every problem in every file.
pub fn read_all(
    files: &[PathBuf],
    default_namespace: &str,
) -> Result<(Vec<Manifest>, Vec<Problem>), Error> {
    if files.is_empty() {
        return Err(Error::Usage(
            "no input: give one or more files, or -f - for standard input".into(),
        ));
    }
    let mut manifests = Vec::new();
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    for file in &expand_directories(files)? {
        let (name, text) = if file.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::Io(format!("cannot read standard input: {e}")))?;
            ("<stdin>".to_string(), text)
        } else {
            let text = std::fs::read_to_string(file)
                .map_err(|e| Error::Usage(format!("cannot read {}: {e}", file.display())))?;
            (file.display().to_string(), text)
        };
        match manifest::parse(&name, &text, default_namespace) {
            Ok(mut parsed) => {
                manifests.append(&mut parsed.manifests);
                warnings.append(&mut parsed.warnings);
            }
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok((manifests, warnings))
    } else {
        Err(Error::Input(problems))
    }
}

/// Directories stand for the YAML and JSON files directly in them, in name order, as with
/// `kubectl apply -f DIR`.
fn expand_directories(files: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for f in files {
        if f.is_dir() {
            let entries = std::fs::read_dir(f)
                .map_err(|e| Error::Usage(format!("cannot read {}: {e}", f.display())))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
                })
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(Error::Usage(format!(
                    "{} has no .yaml, .yml or .json files",
                    f.display()
                )));
            }
            out.extend(found);
        } else {
            out.push(f.clone());
        }
    }
    Ok(out)
}

/// Read and rendered inputs: the objects as written, and everything they render to.
pub struct Rendered {
    /// The objects in the files, in input order.
    pub objects: Vec<Object>,
    /// What they render to, in dependency order.
    pub rendered: Vec<serde_json::Value>,
}

/// Reads the files (printing warnings on stderr) and renders every object, so nothing is
/// sent anywhere unless every graph renders; a render error is reported at the file, line and
/// column of the object at fault.
pub fn read_and_render(
    files: &[PathBuf],
    default_namespace: &str,
    options: &RenderOptions,
) -> Result<Rendered, Error> {
    let (manifests, warnings) = read_all(files, default_namespace)?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let objects: Vec<Object> = manifests.iter().map(|m| m.object.clone()).collect();
    let rendered = render_all(&objects, options).map_err(|(i, e)| {
        Error::Input(vec![manifests[i].problem(&e.object, &e.path, &e.message)])
    })?;
    Ok(Rendered { objects, rendered })
}
