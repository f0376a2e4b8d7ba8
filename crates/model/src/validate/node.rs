//! The node file (`causeway.toml`) alone, and the checks across files.

use std::collections::{BTreeMap, BTreeSet};

use super::Report;
use crate::{ConfigError, ConfigErrors, NodeConfig, SCHEMA_VERSION};

/// Checks of the node file that need no APIs.
pub(crate) fn node_alone(file: &str, node: &NodeConfig) -> ConfigErrors {
    let mut r = Report {
        file,
        errors: Vec::new(),
    };
    if node.version != SCHEMA_VERSION {
        r.err(
            "version",
            format!(
                "schema version {} is not supported; this build reads version {SCHEMA_VERSION}",
                node.version
            ),
        );
    }
    if node.node.max_body_bytes == 0 || node.node.max_body_bytes > 10 * 1024 * 1024 {
        r.err(
            "node.max_body_bytes",
            "use 1..=10485760 (API Gateway's payload limit is 10 MB)",
        );
    }
    if !(1024..=65_536).contains(&node.node.max_header_bytes) {
        r.err("node.max_header_bytes", "use 1024..=65536 bytes");
    }
    if !(100..=600_000).contains(&node.node.header_read_timeout_ms) {
        r.err(
            "node.header_read_timeout_ms",
            "use 100..=600000 milliseconds (the default is 30000)",
        );
    }
    if node.node.worker_threads > 1024 {
        r.err(
            "node.worker_threads",
            "use 1..=1024 threads, or 0 for one per core",
        );
    }
    if !(1..=10_000).contains(&node.node.plugin_instances) {
        r.err(
            "node.plugin_instances",
            "use 1..=10000 plugin instances (the default is 1000)",
        );
    }
    if node.node.data_dir.is_empty() {
        r.err(
            "node.data_dir",
            "name a directory for deployments and stage pointers",
        );
    }
    if !node.admin.allow_remote && !node.admin.listen.ip().is_loopback() {
        r.err("admin.listen", format!("{} is not a loopback address; set `admin.allow_remote = true` to expose the admin API", node.admin.listen));
    }
    if let Some(url) = &node.tracing.otlp_endpoint
        && !url.starts_with("http://")
        && !url.starts_with("https://")
    {
        r.err(
            "tracing.otlp_endpoint",
            format!("`{url}` is not an http(s) URL like `http://127.0.0.1:4318`"),
        );
    }
    if !(0.0..=1.0).contains(&node.tracing.sample_ratio) {
        r.err("tracing.sample_ratio", "use a fraction between 0.0 and 1.0");
    }
    if let Some(mesh) = &node.mesh {
        super::mesh::check(&mut r, mesh);
    }
    if let Some(edge) = &node.edge {
        super::mesh::check_edge(&mut r, edge, node.mesh.as_ref());
    }
    if let Some(tls) = &node.node.tls
        && tls.listen.port() != 0
        && (tls.listen == node.node.listen || Some(tls.listen) == node.node.private_listen)
    {
        r.err(
            "node.tls.listen",
            format!("{} is already `node.listen` or `node.private_listen`; give the HTTPS listener its own port", tls.listen),
        );
    }
    match (
        &node.node.upstream_client_cert_file,
        &node.node.upstream_client_key_file,
    ) {
        (Some(_), None) => r.err(
            "node.upstream_client_key_file",
            "`upstream_client_cert_file` needs its `upstream_client_key_file`",
        ),
        (None, Some(_)) => r.err(
            "node.upstream_client_cert_file",
            "`upstream_client_key_file` needs its `upstream_client_cert_file`",
        ),
        _ => {}
    }
    let mut names = BTreeSet::new();
    for (i, d) in node.domains.iter().enumerate() {
        match (&d.cert_file, &d.key_file) {
            (Some(_), None) => r.err(
                format!("domains[{i}].key_file"),
                "a domain's `cert_file` needs its `key_file`",
            ),
            (None, Some(_)) => r.err(
                format!("domains[{i}].cert_file"),
                "a domain's `key_file` needs its `cert_file`",
            ),
            (Some(_), Some(_)) if node.node.tls.is_none() => r.err(
                format!("domains[{i}].cert_file"),
                "a domain certificate is served on the HTTPS listener: add `[node.tls]` (listen, cert_file, key_file)",
            ),
            _ => {}
        }
        if d.truststore_file.is_some() && node.node.tls.is_none() {
            r.err(
                format!("domains[{i}].truststore_file"),
                "mutual TLS happens on the HTTPS listener: add `[node.tls]` (listen, cert_file, key_file)",
            );
        }
        let host_ok = !d.name.is_empty()
            && d.name.split('.').all(|l| {
                !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !host_ok {
            r.err(
                format!("domains[{i}].name"),
                format!("`{}` is not a host name", d.name),
            );
        } else if !names.insert(d.name.to_ascii_lowercase()) {
            r.err(
                format!("domains[{i}].name"),
                format!("domain `{}` is declared twice", d.name),
            );
        }
        let mut paths = BTreeSet::new();
        for (j, m) in d.mappings.iter().enumerate() {
            if m.base_path.starts_with('/') || m.base_path.ends_with('/') {
                r.err(
                    format!("domains[{i}].mappings[{j}].base_path"),
                    "write the base path without leading or trailing `/`",
                );
            }
            if !paths.insert(m.base_path.as_str()) {
                r.err(
                    format!("domains[{i}].mappings[{j}].base_path"),
                    format!("base path `{}` is mapped twice", m.base_path),
                );
            }
        }
    }
    ConfigErrors(r.errors)
}

/// Checks across files: unique API ids, domain mappings naming known APIs and stages.
pub(crate) fn cross(
    node_file: &str,
    node: &NodeConfig,
    apis: &[(String, crate::ApiSpec)],
    apis_complete: bool,
) -> ConfigErrors {
    let mut errors = Vec::new();
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (file, api) in apis {
        if let Some(first) = seen.insert(api.id.as_str(), file.as_str()) {
            errors.push(ConfigError::new(
                file,
                "id",
                format!(
                    "API id `{}` is also used by {first}; ids must be unique",
                    api.id
                ),
            ));
        }
    }
    // A mapping to an API whose file failed to parse would be a second, misleading error.
    let domains = if apis_complete {
        node.domains.as_slice()
    } else {
        &[]
    };
    for (i, d) in domains.iter().enumerate() {
        for (j, m) in d.mappings.iter().enumerate() {
            let field = format!("domains[{i}].mappings[{j}]");
            match apis.iter().find(|(_, a)| a.id == m.api) {
                None => errors.push(ConfigError::new(
                    node_file,
                    format!("{field}.api"),
                    format!("no API has id `{}`", m.api),
                )),
                Some((_, a)) if !a.stages.iter().any(|s| s.name == m.stage) => {
                    errors.push(ConfigError::new(
                        node_file,
                        format!("{field}.stage"),
                        format!("API `{}` declares no stage `{}`", m.api, m.stage),
                    ))
                }
                Some(_) => {}
            }
        }
    }
    ConfigErrors(errors)
}

#[cfg(test)]
mod tests {
    fn fields(text: &str) -> Vec<String> {
        crate::parse_node("causeway.toml", text)
            .expect_err("refused")
            .0
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn https_settings_are_checked_where_they_are_written() {
        let text = r#"
version = 1
[node]
listen = "127.0.0.1:8080"
[node.tls]
listen = "127.0.0.1:8080"
cert_file = "a.pem"
key_file = "a-key.pem"
[[domains]]
name = "a.example.test"
mappings = []
cert_file = "d.pem"
[[domains]]
name = "b.example.test"
mappings = []
key_file = "d-key.pem"
"#;
        assert_eq!(
            fields(text),
            [
                "node.tls.listen",
                "domains[0].key_file",
                "domains[1].cert_file"
            ]
        );
        // A domain certificate needs the HTTPS listener to be served on.
        let text = r#"
version = 1
[[domains]]
name = "a.example.test"
mappings = []
cert_file = "d.pem"
key_file = "d-key.pem"
"#;
        assert_eq!(fields(text), ["domains[0].cert_file"]);
    }
}
