//! The admin bearer token: from the config, from the environment, or generated and left in
//! the data directory (mode 0600) for the local CLI.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use causeway_model::ConfigSet;
use rand::Rng;

use crate::data_dir;

/// Name of the generated token's file in the data directory.
pub const TOKEN_FILE: &str = "admin.token";

/// The admin token: `admin.token` from the config, else the environment variable named by
/// `admin.token_env`, else 32 fresh random hex digits, written to
/// `<data_dir>/admin.token` (mode 0600) so that the local CLI can read them.
///
/// When the token comes from the config or the environment, a token file left by an
/// earlier start is removed so that the CLI does not pick up a stale token.
pub fn resolve_token(set: &ConfigSet) -> io::Result<String> {
    let admin = &set.node.admin;
    let path = data_dir(set).join(TOKEN_FILE);
    let configured = admin
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let from_env = || {
        (!admin.token_env.is_empty())
            .then(|| std::env::var(&admin.token_env).ok())
            .flatten()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    };
    if let Some(token) = configured.or_else(from_env) {
        if path.exists() {
            let _ = fs::remove_file(&path);
        }
        return Ok(token);
    }
    let bytes: [u8; 16] = rand::rng().random();
    let token = hex::encode(bytes);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    write_private(&path, token.as_bytes())?;
    Ok(token)
}

/// Replace `path` atomically with a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("token.tmp");
    let _ = fs::remove_file(&tmp);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.write_all(b"\n")?;
        f.sync_all()
    });
    let renamed = written.and_then(|()| fs::rename(&tmp, path));
    if renamed.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    renamed.map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "cannot write the admin token to `{}`: {e}; set `admin.token_env` to a variable holding a token instead",
                path.display()
            ),
        )
    })
}
