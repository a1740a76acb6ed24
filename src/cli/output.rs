//! Printing objects as kubectl does: `-o yaml` a multi-document stream, `-o json` a `List`.

use clap::ValueEnum;
use serde_json::{Value, json};

use crate::error::Error;

/// Output format of object streams.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ObjectFormat {
    /// Multi-document YAML.
    #[default]
    Yaml,
    /// A JSON `v1/List`.
    Json,
}

/// Serialises objects in the format, deterministically.
pub fn objects(objects: &[Value], format: ObjectFormat) -> Result<String, Error> {
    match format {
        ObjectFormat::Yaml => {
            let mut out = String::new();
            for o in objects {
                out.push_str("---\n");
                out.push_str(&crate::yaml::to_string(o).map_err(Error::Io)?);
            }
            Ok(out)
        }
        ObjectFormat::Json => {
            let list = json!({ "apiVersion": "v1", "kind": "List", "items": objects });
            Ok(serde_json::to_string_pretty(&list).expect("JSON serialises") + "\n")
        }
    }
}
