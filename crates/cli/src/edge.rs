//! `causeway edge`: run an edge node, forwarding to the nearest regional node that is up.

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
        let edge = match causeway_edge::Edge::start(&set.dir, &set.node) {
            Ok(edge) => Arc::new(edge),
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(crate::EXIT_CONFIG));
            }
        };
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
