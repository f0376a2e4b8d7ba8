//! Reading `edge-config/`: `causeway.toml` (the node) and `apis/*.toml` (one API each).

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::{ApiSpec, ConfigError, ConfigErrors, NodeConfig};

/// A whole configuration directory, parsed and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigSet {
    /// The directory it came from.
    pub dir: PathBuf,
    /// The node file (defaults when `causeway.toml` is absent).
    pub node: NodeConfig,
    /// The APIs, sorted by file name, with the file each came from.
    pub apis: Vec<(String, ApiSpec)>,
}

impl ConfigSet {
    /// The API with id `id`.
    pub fn api(&self, id: &str) -> Option<&ApiSpec> {
        self.apis.iter().map(|(_, a)| a).find(|a| a.id == id)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()
        .iter()
        .take(offset)
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

fn parse<T: DeserializeOwned>(file: &str, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let mut err = ConfigError::new(file, "", e.message().trim().to_owned());
        err.line = e.span().map(|s| line_of(text, s.start));
        err
    })
}

/// Parse one API file (no cross-file checks).
pub fn parse_api(file: &str, text: &str) -> Result<ApiSpec, ConfigErrors> {
    parse_api_with(file, text, &no_extra_checks)
}

/// Checks a layer above the model adds (e.g. the router's route-key rules), run with the
/// model's own so that every error is reported in one pass.
pub type ExtraChecks<'a> = &'a dyn Fn(&str, &ApiSpec) -> Vec<ConfigError>;

fn no_extra_checks(_: &str, _: &ApiSpec) -> Vec<ConfigError> {
    Vec::new()
}

/// [`parse_api`] plus `extra` checks.
pub fn parse_api_with(
    file: &str,
    text: &str,
    extra: ExtraChecks<'_>,
) -> Result<ApiSpec, ConfigErrors> {
    let api: ApiSpec = parse(file, text).map_err(|e| ConfigErrors(vec![e]))?;
    let mut errors = crate::validate::api(file, &api).0;
    for e in extra(file, &api) {
        if !errors.contains(&e) {
            errors.push(e);
        }
    }
    ConfigErrors(errors).into_result()?;
    Ok(api)
}

/// Parse the node file (no cross-file checks).
pub fn parse_node(file: &str, text: &str) -> Result<NodeConfig, ConfigErrors> {
    let node: NodeConfig = parse(file, text).map_err(|e| ConfigErrors(vec![e]))?;
    crate::validate::node_alone(file, &node).into_result()?;
    Ok(node)
}

/// The text of `path`, a readable PEM file with at least one certificate (CAs trusted
/// for https upstreams or a JWKS URL); the error says which of the two it is not.
pub(crate) fn read_pem_certificates(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read `{}`: {e}; paths are relative to the config directory",
            path.display()
        )
    })?;
    if !text.contains("-----BEGIN CERTIFICATE-----") {
        return Err(format!(
            "`{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`); give the certificates of the CAs that sign the server's certificate",
            path.display()
        ));
    }
    Ok(text)
}

/// Makes the HTTPS listener's and the domains' certificate and key paths relative to `dir`
/// and checks each file holds what it should (the TLS stack parses them at start).
/// [`load_dir`] does it; a node that reads only its node file calls it itself.
pub fn resolve_tls_files(dir: &Path, file: &str, node: &mut NodeConfig) -> Vec<ConfigError> {
    const CERT: (&str, &str) = (
        "CERTIFICATE-----",
        "a PEM certificate chain (`-----BEGIN CERTIFICATE-----`), the leaf certificate first",
    );
    const KEY: (&str, &str) = (
        "PRIVATE KEY-----",
        "a PEM private key (`-----BEGIN PRIVATE KEY-----`, or an RSA or EC one)",
    );
    let mut errors = Vec::new();
    let mut check = |field: String, path: &mut String, (marker, what): (&str, &str)| {
        let full = dir.join(&*path);
        let problem = match std::fs::read_to_string(&full) {
            Err(e) => Some(format!(
                "cannot read `{}`: {e}; paths are relative to the config directory",
                full.display()
            )),
            // `PRIVATE KEY-----` ends PKCS#8, RSA and EC key headers alike.
            Ok(text) if !(text.contains("-----BEGIN ") && text.contains(marker)) => {
                Some(format!("`{}` does not hold {what}", full.display()))
            }
            Ok(_) => None,
        };
        if let Some(message) = problem {
            errors.push(ConfigError::new(file, field, message));
        }
        *path = full.display().to_string();
    };
    if let Some(cert) = &mut node.node.upstream_client_cert_file {
        check("node.upstream_client_cert_file".into(), cert, CERT);
    }
    if let Some(key) = &mut node.node.upstream_client_key_file {
        check("node.upstream_client_key_file".into(), key, KEY);
    }
    if let Some(tls) = &mut node.node.tls {
        check("node.tls.cert_file".into(), &mut tls.cert_file, CERT);
        check("node.tls.key_file".into(), &mut tls.key_file, KEY);
    }
    for (i, d) in node.domains.iter_mut().enumerate() {
        if let Some(cert) = &mut d.cert_file {
            check(format!("domains[{i}].cert_file"), cert, CERT);
        }
        if let Some(key) = &mut d.key_file {
            check(format!("domains[{i}].key_file"), key, KEY);
        }
        if let Some(trust) = &mut d.truststore_file {
            check(format!("domains[{i}].truststore_file"), trust, CERT);
        }
    }
    errors
}

/// Hash each plugin's component (relative to `dir`) into its `sha256`, so that a new plugin
/// version is a new deployment.
pub fn resolve_plugins(dir: &Path, file: &str, api: &mut ApiSpec) -> Result<(), Vec<ConfigError>> {
    use sha2::{Digest, Sha256};
    let mut errors = Vec::new();
    for (i, p) in api.plugins.iter_mut().enumerate() {
        let path = dir.join(&p.file);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let hash = hex::encode(Sha256::digest(&bytes));
                if p.sha256
                    .as_ref()
                    .is_some_and(|h| !h.eq_ignore_ascii_case(&hash))
                {
                    errors.push(ConfigError::new(
                        file,
                        format!("plugins[{i}].sha256"),
                        format!(
                            "`{}` has SHA-256 {hash}, not the one given; update or remove `sha256`",
                            path.display()
                        ),
                    ));
                }
                p.sha256 = Some(hash);
            }
            Err(e) => errors.push(ConfigError::new(
                file,
                format!("plugins[{i}].file"),
                format!(
                    "cannot read `{}`: {e}; paths are relative to the config directory",
                    path.display()
                ),
            )),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Load and validate a configuration directory, reporting every error in every file.
pub fn load_dir(dir: &Path) -> Result<ConfigSet, ConfigErrors> {
    load_dir_with(dir, &no_extra_checks)
}

/// [`load_dir`] plus `extra` checks on every API.
pub fn load_dir_with(dir: &Path, extra: ExtraChecks<'_>) -> Result<ConfigSet, ConfigErrors> {
    let mut errors = Vec::new();
    let label = |p: &Path| p.display().to_string();
    let node_path = dir.join("causeway.toml");
    let mut node = match std::fs::read_to_string(&node_path) {
        Ok(text) => parse_node(&label(&node_path), &text).unwrap_or_else(|e| {
            errors.extend(e.0);
            NodeConfig::default()
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => NodeConfig::default(),
        Err(e) => {
            errors.push(ConfigError::new(
                label(&node_path),
                "",
                format!("cannot read: {e}"),
            ));
            NodeConfig::default()
        }
    };
    if let Some(ca) = &mut node.node.upstream_ca_file {
        let path = dir.join(&*ca);
        if let Err(message) = read_pem_certificates(&path) {
            errors.push(ConfigError::new(
                label(&node_path),
                "node.upstream_ca_file",
                message,
            ));
        }
        *ca = path.display().to_string();
    }
    errors.extend(resolve_tls_files(dir, &label(&node_path), &mut node));
    let apis_dir = dir.join("apis");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&apis_dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.is_dir() => Vec::new(),
        Err(e) => {
            errors.push(ConfigError::new(
                label(&apis_dir),
                "",
                format!("cannot read the APIs directory: {e}; create it and put one `<api-id>.toml` per API in it"),
            ));
            Vec::new()
        }
    };
    files.sort();
    let mut apis = Vec::new();
    let mut apis_complete = true;
    for path in files {
        let file = label(&path);
        match std::fs::read_to_string(&path) {
            Ok(text) => match parse_api_with(&file, &text, extra) {
                Ok(mut api) => {
                    let mut errs = resolve_plugins(dir, &file, &mut api)
                        .err()
                        .unwrap_or_default();
                    errs.extend(crate::jwt::resolve_jwks(dir, &file, &mut api));
                    if errs.is_empty() {
                        apis.push((file, api));
                    } else {
                        apis_complete = false;
                        errors.extend(errs);
                    }
                }
                Err(e) => {
                    apis_complete = false;
                    errors.extend(e.0);
                }
            },
            Err(e) => {
                apis_complete = false;
                errors.push(ConfigError::new(file, "", format!("cannot read: {e}")));
            }
        }
    }
    errors.extend(crate::validate::cross(&label(&node_path), &node, &apis, apis_complete).0);
    ConfigErrors(errors).into_result()?;
    Ok(ConfigSet {
        dir: dir.to_owned(),
        node,
        apis,
    })
}
