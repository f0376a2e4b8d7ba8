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
    /// Serve the admin API and `/metrics` here (an edge serves none unless asked).
    #[arg(long, value_name = "ADDR")]
    admin_listen: Option<SocketAddr>,
}

pub(crate) fn run(args: &EdgeArgs) -> anyhow::Result<ExitCode> {
    crate::serve::init_tracing();
    crate::serve::raise_open_files_limit();
    let mut set = match crate::config::node_only(&args.config.config) {
        Ok(set) => set,
        Err(e) => {
            eprintln!("{e:#}");
            return Ok(ExitCode::from(crate::EXIT_CONFIG));
        }
    };
    let listen = args.listen.unwrap_or(set.node.node.listen);
    // Certificate paths are relative to the config directory, as for `serve`.
    let dir = set.dir.clone();
    let node_file = dir.join("causeway.toml").display().to_string();
    let mut errors = causeway_model::resolve_tls_files(&dir, &node_file, &mut set.node);
    let https = if errors.is_empty() {
        causeway_gateway::https_config(&set.node).unwrap_or_else(|e| {
            errors.push(e);
            None
        })
    } else {
        None
    };
    if !errors.is_empty() {
        crate::config::print_errors(&errors);
        return Ok(ExitCode::from(crate::EXIT_CONFIG));
    }
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
        let https = match (https, &set.node.node.tls) {
            (Some(config), Some(tls)) => {
                let l = TcpListener::bind(tls.listen).await.with_context(|| {
                    format!("cannot listen on {} (node.tls.listen)", tls.listen)
                })?;
                Some((l, config))
            }
            _ => None,
        };
        let admin = match args.admin_listen {
            Some(addr) if let Err(code) = crate::config::check_admin_listen(addr, &set.node) => {
                return Ok(code);
            }
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen on {addr} (--admin-listen)"))?,
            ),
            None => None,
        };
        let mut others = Vec::new();
        if let Some((l, config)) = &https {
            crate::hangup::reload_certificates_on_hangup(dir.clone(), config.clone());
            others.push(format!("https://{}", l.local_addr()?));
        }
        if let Some(l) = &admin {
            others.push(format!("admin http://{}", l.local_addr()?));
        }
        let others = if others.is_empty() {
            String::new()
        } else {
            format!(" ({})", others.join(", "))
        };
        eprintln!(
            "causeway edge listening on http://{}{others}",
            listener.local_addr()?
        );
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let admin = match admin {
            Some(l) => {
                let token =
                    causeway_admin::resolve_token(&set).context("cannot set up the admin token")?;
                Some(tokio::spawn(causeway_admin::serve_admin(
                    control.clone(),
                    l,
                    token,
                    until_stopped(stopped.clone()),
                )))
            }
            None => None,
        };
        let mut secure = tokio::spawn({
            let (edge, stopped) = (edge.clone(), until_stopped(stopped.clone()));
            async move {
                match https {
                    Some((l, config)) => edge.serve_https(l, &config, stopped).await,
                    None => {
                        stopped.await;
                        Ok(())
                    }
                }
            }
        });
        let mut plain = tokio::spawn(edge.serve(listener, until_stopped(stopped)));
        // A listener that stops on its own stops the others too, as a signal does.
        let early = tokio::select! {
            () = crate::serve::shutdown_signal() => None,
            r = &mut plain => Some(("listener", r)),
            r = &mut secure => Some(("HTTPS listener", r)),
        };
        let _ = stop.send(true);
        if let Some((what, result)) = early {
            let _ = plain.await;
            let _ = secure.await;
            return match result {
                Ok(Ok(())) => anyhow::bail!("the edge's {what} stopped unexpectedly"),
                Ok(Err(e)) => Err(e).with_context(|| format!("the edge's {what} failed")),
                Err(e) => Err(e).with_context(|| format!("the edge's {what} crashed")),
            };
        }
        plain.await.context("the listener crashed")??;
        secure.await.context("the HTTPS listener crashed")??;
        if let Some(admin) = admin {
            admin.await.context("the admin API crashed")??;
        }
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
