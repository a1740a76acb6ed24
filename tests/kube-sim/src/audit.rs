//! The audit log: one record per request, kept in memory and optionally
//! appended to a file as JSON lines.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One audited request. Serialises to exactly the keys
/// `ts, verb, group, resource, subresource, namespace, name, fieldManager, userAgent, dryRun, code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339 time with microseconds.
    pub ts: String,
    /// Kubernetes audit verb: get, list, watch, create, update, patch, delete,
    /// deletecollection (non-resource requests such as discovery are `get`).
    pub verb: String,
    /// API group (`""` for core and for non-resource requests).
    pub group: String,
    /// Plural resource (`""` for non-resource requests).
    pub resource: String,
    /// Subresource (`status`, `scale`) or `""`.
    pub subresource: String,
    /// Namespace or `""`.
    pub namespace: String,
    /// Object name or `""`.
    pub name: String,
    /// `fieldManager` query parameter or `""`.
    #[serde(rename = "fieldManager")]
    pub field_manager: String,
    /// `User-Agent` header.
    #[serde(rename = "userAgent")]
    pub user_agent: String,
    /// Whether `dryRun=All` was set.
    #[serde(rename = "dryRun")]
    pub dry_run: bool,
    /// HTTP status code of the response.
    pub code: u16,
}

impl AuditRecord {
    /// Whether the verb changes state (create, update, patch, delete, deletecollection).
    pub fn is_write(&self) -> bool {
        matches!(
            self.verb.as_str(),
            "create" | "update" | "patch" | "delete" | "deletecollection"
        )
    }
}

/// In-memory audit log with an optional JSON-lines file sink.
#[derive(Debug, Default)]
pub struct AuditLog {
    records: Mutex<Vec<AuditRecord>>,
    file: Mutex<Option<File>>,
}

impl AuditLog {
    /// A log that also appends to `file`.
    pub fn with_file(file: Option<File>) -> AuditLog {
        AuditLog {
            records: Mutex::new(Vec::new()),
            file: Mutex::new(file),
        }
    }

    /// Appends a record.
    pub fn push(&self, r: AuditRecord) {
        if let Some(f) = self.file.lock().unwrap_or_else(|e| e.into_inner()).as_mut()
            && let Ok(line) = serde_json::to_string(&r)
        {
            // Best effort: a full disk must not fail API requests.
            let _ = writeln!(f, "{line}");
        }
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(r);
    }

    /// A copy of all records so far.
    pub fn records(&self) -> Vec<AuditRecord> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Forgets the in-memory records (the file is left alone).
    pub fn clear(&self) {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}
