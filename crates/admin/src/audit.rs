//! The audit log (CloudTrail's role): one JSON line per control-plane action — who (the
//! admin token's identity), what, when, from where, and the result — appended to
//! `<data_dir>/audit.log`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;

use serde::Serialize;

/// File name of the audit log inside the data directory.
pub const AUDIT_FILE: &str = "audit.log";

/// An append-only JSON-lines file.
#[derive(Debug)]
pub(crate) struct AuditLog {
    file: Mutex<File>,
}

/// One control-plane action.
#[derive(Debug, Serialize)]
pub(crate) struct AuditEntry<'a> {
    /// Milliseconds since the Unix epoch.
    pub(crate) time_ms: u64,
    /// `token:<first 12 hex digits of the SHA-256 of the bearer token>`, or `anonymous`.
    pub(crate) who: &'a str,
    pub(crate) peer: SocketAddr,
    /// `METHOD /path`, e.g. `POST /v1/apis/petstore/deployments`.
    pub(crate) action: &'a str,
    pub(crate) status: u16,
    /// `ok` or `error`.
    pub(crate) result: &'a str,
}

impl AuditLog {
    pub(crate) fn open(dir: &Path) -> std::io::Result<AuditLog> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(AUDIT_FILE))?;
        Ok(AuditLog {
            file: Mutex::new(file),
        })
    }

    /// Append `entry`; a failed write is logged, never fatal to the action.
    pub(crate) fn record(&self, entry: &AuditEntry<'_>) {
        let Ok(mut line) = serde_json::to_vec(entry) else {
            return;
        };
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(&line).and_then(|()| file.sync_data()) {
            tracing::error!(error = %e, "cannot append to the audit log");
        }
    }
}

/// The identity of a bearer token: a short hash, never the secret itself.
pub(crate) fn identity(bearer: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    match bearer {
        Some(t) if !t.is_empty() => {
            format!("token:{}", &hex::encode(Sha256::digest(t.as_bytes()))[..12])
        }
        _ => "anonymous".to_owned(),
    }
}
