//! `causeway edge`: run an edge node, forwarding to the nearest regional node that is up.
//! The edge is a mesh member with a control plane of its own (no admin listener): it
//! stores, compiles and publishes the stages and plugin components the regions replicate,
//! so routes' authorizers run at the edge before a request travels.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;

use crate::ConfigArg;

#[derive(Debug, Args)]
pub(crate) struct EdgeArgs {
    #[command(flatten)]
    config: ConfigArg,
    /// Client listener, overriding `node.listen` (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

pub(crate) fn run(args: &EdgeArgs) -> anyhow::Result<ExitCode> {
    crate::serve::init_tracing();
    let set = match crate::config::node_only(&args.config.config) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("{e:#}");
            return Ok(ExitCode::from(crate::EXIT_CONFIG));
        }
    };
    let listen = args.listen.unwrap_or(set.node.node.listen);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let gateway = causeway_gateway::Gateway::new(&set.node);
        let control = causeway_admin::Control::open(&set, gateway.clone()).with_context(|| {
            format!(
                "cannot open the data directory `{}`",
                causeway_admin::data_dir(&set).display()
            )
        })?;
        let control = Arc::new(control);
        let peers = {
            let control = control.clone();
            Box::new(move || control.mesh_peers())
        };
        let edge = match causeway_edge::Edge::new(&set.node, gateway, peers) {
            Ok(edge) => Arc::new(edge),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(crate::EXIT_CONFIG));
            }
        };
        if let Err(e) = causeway_admin::start_mesh(&set, &control) {
            eprintln!("error: causeway.toml: mesh: {e}");
            return Ok(ExitCode::from(crate::EXIT_CONFIG));
        }
        causeway_admin::vouch_as_edge(&control);
        let listener = TcpListener::bind(listen).await.with_context(|| {
            format!("cannot listen on {listen} (node.listen); pick another with --listen")
        })?;
        eprintln!(
            "causeway edge listening on http://{}",
            listener.local_addr()?
        );
        edge.serve(listener, crate::serve::shutdown_signal())
            .await?;
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
