//! Control-plane errors and their JSON shape on the admin API.

use std::fmt;

use causeway_model::{ConfigError, ConfigErrors};
use causeway_store::StoreError;
use serde::{Deserialize, Serialize};

/// Why a control-plane operation was refused. Nothing changed, and what was served before
/// is still served.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The definition (or a stored deployment) does not validate or compile.
    #[error("{0}")]
    Invalid(ConfigErrors),
    /// The request itself is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change lost to a newer one (409).
    #[error("{0}")]
    Conflict(String),
}

impl From<ConfigErrors> for AdminError {
    fn from(e: ConfigErrors) -> Self {
        AdminError::Invalid(e)
    }
}

impl AdminError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AdminError::Invalid(_) | AdminError::BadRequest(_) => 400,
            AdminError::Store(e) if e.is_not_found() => 404,
            AdminError::Store(StoreError::NoHistory { .. }) => 409,
            AdminError::Store(
                StoreError::InvalidName { .. }
                | StoreError::Tampered { .. }
                | StoreError::Invalid { .. },
            ) => 400,
            AdminError::Store(_) => 500,
            AdminError::Conflict(_) => 409,
        }
    }

    /// The JSON body this error is answered with.
    pub fn body(&self) -> ErrorBody {
        match self {
            AdminError::Invalid(errors) => ErrorBody {
                message: format!(
                    "the API definition is invalid: {} configuration error(s); fix them and deploy again",
                    errors.0.len()
                ),
                errors: errors.0.iter().map(ErrorItem::from).collect(),
            },
            other => ErrorBody::new(other.to_string()),
        }
    }
}

/// An error answer of the admin API: `{"message": "...", "errors": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong and how to fix it.
    pub message: String,
    /// Every configuration error, with file and field, when the cause is validation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorItem>,
}

impl ErrorBody {
    /// A message without configuration errors.
    pub fn new(message: impl Into<String>) -> Self {
        ErrorBody {
            message: message.into(),
            errors: Vec::new(),
        }
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for e in &self.errors {
            write!(f, "\n{e}")?;
        }
        Ok(())
    }
}

/// A [`ConfigError`] as sent over the wire (it reads back, unlike the model's type).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorItem {
    /// File (or `<api:ID>` for a definition sent as data).
    pub file: String,
    /// 1-based line, when known.
    #[serde(default)]
    pub line: Option<usize>,
    /// Dotted field path.
    #[serde(default)]
    pub field: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl From<&ConfigError> for ErrorItem {
    fn from(e: &ConfigError) -> Self {
        ErrorItem {
            file: e.file.clone(),
            line: e.line,
            field: e.field.clone(),
            message: e.message.clone(),
        }
    }
}

impl From<ErrorItem> for ConfigError {
    fn from(e: ErrorItem) -> Self {
        ConfigError {
            file: e.file,
            line: e.line,
            field: e.field,
            message: e.message,
        }
    }
}

impl fmt::Display for ErrorItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        ConfigError::from(self.clone()).fmt(f)
    }
}
