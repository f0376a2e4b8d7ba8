//! `causeway mesh certs`: mint the mesh's CA and one certificate per node.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub(crate) enum MeshCommand {
    /// Mint a CA and a certificate for each node id into a directory: `ca.pem`,
    /// `ca-key.pem` (keep it offline), `<id>.pem` and `<id>-key.pem`.
    Certs(CertsArgs),
    /// This node's view of the mesh: each peer, up or down, round-trip time.
    Status(crate::AdminArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CertsArgs {
    /// Directory to write into (created; existing files are not overwritten).
    #[arg(long)]
    out: PathBuf,
    /// The CA's common name.
    #[arg(long, default_value = "causeway mesh CA")]
    ca_name: String,
    /// Node ids (DNS names), as in each node's `mesh.id`.
    #[arg(required = true)]
    ids: Vec<String>,
}

pub(crate) fn run(command: &MeshCommand) -> anyhow::Result<ExitCode> {
    let args = match command {
        MeshCommand::Certs(args) => args,
        MeshCommand::Status(admin) => return status(admin),
    };
    let ids: Vec<&str> = args.ids.iter().map(String::as_str).collect();
    let minted = causeway_mesh::transport::mint(&args.ca_name, &ids)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let mut files = vec![
        ("ca.pem".to_owned(), minted.ca_cert.clone()),
        ("ca-key.pem".to_owned(), minted.ca_key.clone()),
    ];
    for (id, cert, key) in &minted.nodes {
        files.push((format!("{id}.pem"), cert.clone()));
        files.push((format!("{id}-key.pem"), key.clone()));
    }
    if let Some((name, _)) = files.iter().find(|(n, _)| args.out.join(n).exists()) {
        anyhow::bail!(
            "{} already exists; mint into an empty directory (a new CA invalidates the old certificates)",
            args.out.join(name).display()
        );
    }
    for (name, text) in &files {
        write_private(&args.out.join(name), text)?;
    }
    println!(
        "minted a mesh CA and {} node certificate(s) in {}",
        minted.nodes.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn status(args: &crate::AdminArgs) -> anyhow::Result<ExitCode> {
    let admin = crate::client::Admin::connect(args)?;
    let status: causeway_admin::MeshStatus = admin.get("/v1/mesh")?;
    println!(
        "node {}{}",
        status.id,
        status
            .region
            .as_deref()
            .map(|r| format!(" (region {r})"))
            .unwrap_or_default()
    );
    let rows: Vec<Vec<String>> = status
        .peers
        .iter()
        .map(|p| {
            vec![
                p.id.clone(),
                if p.up { "up" } else { "down" }.to_owned(),
                p.rtt_ms
                    .map_or_else(|| "-".to_owned(), |ms| format!("{ms:.2} ms")),
            ]
        })
        .collect();
    print!("{}", crate::table::render(&["PEER", "STATE", "RTT"], &rows));
    Ok(ExitCode::SUCCESS)
}
