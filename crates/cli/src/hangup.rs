//! SIGHUP: read the HTTPS listener's certificates again (renewed files) without a restart.
//! A node file or certificate that cannot be used is reported and the ones in use stay.

use std::path::PathBuf;

use causeway_gateway::HttpsConfig;

/// Reloads `config` from the node file in `dir` on every SIGHUP (Unix; nothing elsewhere).
pub(crate) fn reload_certificates_on_hangup(dir: PathBuf, config: HttpsConfig) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP: certificates are read at start only");
            return;
        };
        while hangups.recv().await.is_some() {
            match reload(&dir, &config) {
                Ok(()) => tracing::info!("SIGHUP: HTTPS certificates reloaded"),
                Err(errors) => {
                    for e in errors {
                        tracing::error!(
                            "SIGHUP: certificates not reloaded, the current ones stay: {e}"
                        );
                    }
                }
            }
        }
    });
    #[cfg(not(unix))]
    drop((dir, config));
}

fn reload(dir: &std::path::Path, config: &HttpsConfig) -> Result<(), Vec<String>> {
    let path = dir.join("causeway.toml");
    let file = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|e| vec![format!("{file}: {e}")])?;
    let mut node = causeway_model::parse_node(&file, &text)
        .map_err(|e| e.0.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let errors = causeway_model::resolve_tls_files(dir, &file, &mut node);
    if !errors.is_empty() {
        return Err(errors.iter().map(ToString::to_string).collect());
    }
    config.reload(&node).map_err(|e| vec![e.to_string()])
}
