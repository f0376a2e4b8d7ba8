//! OpenAPI 3 documents in and out of Causeway's API model, the way Amazon API Gateway
//! imports and exports them: routes become paths and operations, integrations and
//! authorizers travel in API Gateway's `x-amazon-apigateway-*` extensions (so a document
//! exported from API Gateway imports here, and ours reads as API Gateway's), and what API
//! Gateway has no word for (WebAssembly plugins, FUNCTION and WASI_HTTP integrations,
//! stages with their cache and throttle settings) travels in `x-causeway*` extensions, so
//! an export imports back to the same definition.
//!
//! This crate owns the translation only: documents in, [`ApiSpec`]s out and back. It
//! depends on `causeway-model` and serde formats, never on the gateway, the admin API or
//! any I/O runtime; reading and writing files is its callers' job.
#![forbid(unsafe_code)]

use std::fmt;

use causeway_model::{ApiSpec, ApiType};

mod export;
mod import;
mod models;
mod policy;

pub use export::export;

/// Whether `api` has an OpenAPI form: REST and HTTP APIs do; a WEBSOCKET API does not (API
/// Gateway exports REST and HTTP APIs only). The error says so, for the caller to answer.
pub fn exportable(api: &causeway_model::ApiSpec) -> Result<(), String> {
    match api.kind {
        causeway_model::ApiType::WebSocket => Err(format!(
            "API `{}` is a WEBSOCKET API, which has no OpenAPI form (API Gateway exports REST and HTTP APIs only); its definition file is its export",
            api.id
        )),
        _ => Ok(()),
    }
}

/// What [`export`] adds beyond the API itself.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// The invoke URL of the stage exported (`servers[0].url`), if known.
    pub server_url: Option<String>,
    /// `info.version`; the deployment id when exporting a deployment.
    pub version: Option<String>,
}

/// What [`import`] cannot read from the document itself.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The API id; else `x-causeway.id`, else one made from `info.title`.
    pub id: Option<String>,
    /// The API type; else `x-causeway.type`, else `HTTP` when the document carries HTTP
    /// APIs' `x-amazon-apigateway-importexport-version`, else `REST`.
    pub kind: Option<ApiType>,
}

/// A document read into an API, with what was left out on the way.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The API, already checked by `causeway_model::validate_api`.
    pub api: ApiSpec,
    /// Parts of the document Causeway does not act on (mapping templates, models, ...),
    /// each with where it is.
    pub warnings: Vec<Located>,
}

/// A message about one place in an OpenAPI document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Where, as a dotted path: `paths./pets/{petId}.get.x-amazon-apigateway-integration`.
    pub at: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.at.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.at, self.message)
        }
    }
}

/// Every reason a document could not be imported, each with its place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ImportErrors(pub Vec<Located>);

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(
            f,
            "the OpenAPI document cannot be imported ({n} error{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.0 {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

/// A document's text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON (pretty-printed on output).
    Json,
    /// YAML.
    Yaml,
}

/// Read an OpenAPI 3 document (JSON or YAML, told apart by its first character) into an
/// API, reporting every problem at once.
pub fn import(text: &str, options: &ImportOptions) -> Result<Imported, ImportErrors> {
    let doc = parse(text)?;
    import::document(&doc, options)
}

/// Parse a document's text: JSON if it starts with `{`, else YAML.
fn parse(text: &str) -> Result<serde_json::Value, ImportErrors> {
    let parsed = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))
    } else {
        yaml_serde::from_str(text).map_err(|e| format!("not valid YAML: {e}"))
    };
    parsed.map_err(|message| {
        ImportErrors(vec![Located {
            at: String::new(),
            message,
        }])
    })
}

/// `document` as text in `format`, its top-level keys in the usual order (`openapi`,
/// `info`, `servers`, `paths`, `components`, then the extensions).
pub fn render(document: &serde_json::Value, format: Format) -> String {
    let ordered = TopFirst(document);
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&ordered).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Yaml => yaml_serde::to_string(&ordered).unwrap_or_default(),
    }
}

struct TopFirst<'a>(&'a serde_json::Value);

impl serde::Serialize for TopFirst<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const FIRST: [&str; 5] = ["openapi", "info", "servers", "paths", "components"];
        let Some(map) = self.0.as_object() else {
            return self.0.serialize(s);
        };
        let first = FIRST.iter().filter_map(|k| map.get_key_value(*k));
        let rest = map.iter().filter(|(k, _)| !FIRST.contains(&k.as_str()));
        s.collect_map(first.chain(rest))
    }
}

/// The extension holding an integration API Gateway has no type for (FUNCTION,
/// WASI_HTTP), in Causeway's own config form.
pub const X_INTEGRATION: &str = "x-causeway-integration";
/// API Gateway's integration extension.
pub const X_AWS_INTEGRATION: &str = "x-amazon-apigateway-integration";

#[cfg(test)]
mod tests;
