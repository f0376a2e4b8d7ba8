//! `causeway serve`: load and validate the config, open the control plane, bind the
//! gateway and admin listeners, and run until SIGINT/SIGTERM with a graceful drain.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use causeway_admin::{AdminError, Control, TOKEN_FILE, data_dir, resolve_token, serve_admin};
use causeway_gateway::Gateway;
use causeway_model::{ConfigError, ConfigSet};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing_subscriber::EnvFilter;

use crate::config::{load_validated_for_serving, print_errors};
use crate::{EXIT_CONFIG, ServeArgs};

pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    init_tracing();
    raise_open_files_limit();
    let (mut set, plugins, https) = match load_validated_for_serving(&args.config.config) {
        Ok(loaded) => loaded,
        Err(code) => return Ok(code),
    };
    if let Some(listen) = args.listen {
        set.node.node.listen = listen;
    }
    if let Some(listen) = args.admin_listen {
        set.node.admin.listen = listen;
    }
    if let Some(listen) = args.private_listen {
        set.node.node.private_listen = Some(listen);
    }
    if let Err(code) = crate::config::check_admin_listen(set.node.admin.listen, &set.node) {
        return Ok(code);
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if set.node.node.worker_threads > 0 {
        runtime.worker_threads(set.node.node.worker_threads);
    }
    let runtime = runtime.build().context("cannot start the async runtime")?;
    runtime.block_on(serve(set, plugins, https))
}

/// Raise the soft limit on open files to the hard one, as Go's runtime does at start and
/// nginx's `worker_rlimit_nofile` is set for: every client and upstream connection holds
/// a descriptor, and the soft limit a shell or service manager hands down (often 1,024)
/// would otherwise cap the node near a thousand connections, with accepts failing
/// beyond. Called by `serve` and `edge` once logging is up.
pub(crate) fn raise_open_files_limit() {
    match rlimit::Resource::NOFILE.get() {
        Ok((soft, hard)) if soft < hard => match rlimit::increase_nofile_limit(u64::MAX) {
            Ok(now) => tracing::info!(from = soft, to = now, "raised the open files limit"),
            Err(e) => tracing::warn!(soft, hard, error = %e, "cannot raise the open files limit"),
        },
        Ok((soft, _)) => tracing::debug!(soft, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot read the open files limit"),
    }
}

pub(crate) fn init_tracing() {
    use std::io::IsTerminal;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

async fn serve(
    mut set: ConfigSet,
    plugins: Arc<causeway_admin::PluginHost>,
    https: Option<causeway_gateway::HttpsConfig>,
) -> anyhow::Result<ExitCode> {
    let node = &set.node;
    let gateway_listener = TcpListener::bind(node.node.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (node.listen); free the port or pick another with --listen",
            node.node.listen
        )
    })?;
    let admin_listener = TcpListener::bind(node.admin.listen).await.with_context(|| {
        format!(
            "cannot listen on {} (admin.listen); free the port or pick another with --admin-listen",
            node.admin.listen
        )
    })?;
    let private_listener = match node.node.private_listen {
        None => None,
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| {
            format!(
                "cannot listen on {addr} (node.private_listen); free the port or pick another with --private-listen"
            )
        })?),
    };
    let https_listener = match (https, &node.node.tls) {
        (Some(config), Some(tls)) => {
            let addr = tls.listen;
            let listener = TcpListener::bind(addr).await.with_context(|| {
                format!("cannot listen on {addr} (node.tls.listen); free the port or pick another")
            })?;
            Some((listener, config))
        }
        _ => None,
    };
    let https_addr = match &https_listener {
        Some((l, config)) => {
            crate::hangup::reload_certificates_on_hangup(set.dir.clone(), config.clone());
            Some(l.local_addr()?)
        }
        None => None,
    };
    // The port the gateway got (`--listen 127.0.0.1:0` picks one): what invoke URLs, as
    // in an OpenAPI export's `servers`, must name.
    set.node.node.listen = gateway_listener.local_addr()?;
    if let Some(l) = &private_listener {
        set.node.node.private_listen = Some(l.local_addr()?);
    }
    let node = &set.node;
    let gateway = Gateway::new(node);
    let control = match Control::open_with_plugins(&set, gateway.clone(), plugins) {
        Ok(c) => Arc::new(c),
        Err(AdminError::Invalid(errors)) => {
            print_errors(&errors.0);
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "cannot open the data directory `{}`",
                    data_dir(&set).display()
                )
            });
        }
    };
    match causeway_admin::start_mesh(&set, &control) {
        Ok(()) => {}
        Err(AdminError::BadRequest(why)) => {
            print_errors([ConfigError::new("causeway.toml", "mesh", why)]);
            return Ok(ExitCode::from(EXIT_CONFIG));
        }
        Err(e) => return Err(e).context("cannot start the mesh"),
    }
    let token = resolve_token(&set).context("cannot set up the admin token")?;
    let token_file = data_dir(&set).join(TOKEN_FILE);
    if std::fs::read_to_string(&token_file).is_ok_and(|t| t.trim() == token) {
        tracing::info!(path = %token_file.display(), "generated an admin token for this run");
    }

    let gateway_addr = gateway_listener.local_addr()?;
    let admin_addr = admin_listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let until_stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    // Bound above: the port it got.
    let private_addr = set.node.node.private_listen;
    warn_unreachable_private_apis(&set, private_addr.is_some());
    let mut private_task = tokio::spawn({
        let (gateway, stopped) = (gateway.clone(), until_stopped(stopped.clone()));
        async move {
            match private_listener {
                Some(l) => gateway.serve_private(l, stopped).await,
                // No private listener: a task that ends with the others.
                None => {
                    stopped.await;
                    Ok(())
                }
            }
        }
    });
    let mut https_task = tokio::spawn({
        let (gateway, stopped) = (gateway.clone(), until_stopped(stopped.clone()));
        async move {
            match https_listener {
                Some((l, config)) => gateway.serve_https(l, config, stopped).await,
                None => {
                    stopped.await;
                    Ok(())
                }
            }
        }
    });
    let mut gateway_task =
        tokio::spawn(gateway.serve(gateway_listener, until_stopped(stopped.clone())));
    let mut admin_task = tokio::spawn(serve_admin(
        control,
        admin_listener,
        token,
        until_stopped(stopped),
    ));
    let mut others: Vec<String> = private_addr
        .map(|p| format!("private http://{p}"))
        .into_iter()
        .chain(https_addr.map(|h| format!("https://{h}")))
        .collect();
    others.push(format!("admin http://{admin_addr}"));
    eprintln!(
        "causeway listening on http://{gateway_addr} ({})",
        others.join(", ")
    );

    let early = tokio::select! {
        () = shutdown_signal() => None,
        r = &mut gateway_task => Some(("gateway", r)),
        r = &mut admin_task => Some(("admin API", r)),
        r = &mut private_task => Some(("private listener", r)),
        r = &mut https_task => Some(("HTTPS listener", r)),
    };
    tracing::info!("shutting down: draining in-flight requests");
    let _ = stop.send(true);
    if let Some((what, result)) = early {
        // One listener stopped on its own: stop the other and report why.
        let _ = gateway_task.await;
        let _ = admin_task.await;
        let _ = private_task.await;
        let _ = https_task.await;
        return match result {
            Ok(Ok(())) => anyhow::bail!("the {what} stopped unexpectedly"),
            Ok(Err(e)) => Err(e).with_context(|| format!("the {what} failed")),
            Err(e) => Err(e).with_context(|| format!("the {what} crashed")),
        };
    }
    let (g, a, p, h) = tokio::join!(gateway_task, admin_task, private_task, https_task);
    g.context("the gateway crashed")?
        .context("the gateway failed")?;
    p.context("the private listener crashed")?
        .context("the private listener failed")?;
    h.context("the HTTPS listener crashed")?
        .context("the HTTPS listener failed")?;
    a.context("the admin API crashed")?
        .context("the admin API failed")?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// PRIVATE APIs are served on the private listener only: say so when there is none.
fn warn_unreachable_private_apis(set: &ConfigSet, private_listener: bool) {
    if private_listener {
        return;
    }
    for (file, api) in crate::config::private_apis(set) {
        tracing::warn!(
            api = %api,
            file = %file,
            "PRIVATE API without a private listener: it is not served; set node.private_listen or --private-listen"
        );
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
