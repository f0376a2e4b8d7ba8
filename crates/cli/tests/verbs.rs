//! The CLI verbs in-process against a real admin API on a loopback port.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use causeway_admin::{Control, serve_admin};
use causeway_cli::run;
use causeway_gateway::Gateway;
use causeway_model::load_dir;

const API: &str = r#"
version = 1
id = "pets"
name = "Pets"
type = "HTTP"

[[stages]]
name = "prod"
variables = { color = "blue" }

[[routes]]
key = "GET /"
integration = { type = "MOCK", body = "BODY" }
"#;

fn write_config(dir: &Path, body: &str) {
    std::fs::create_dir_all(dir.join("apis")).expect("apis dir");
    std::fs::write(
        dir.join("causeway.toml"),
        "version = 1\n[node]\ndata_dir = \"data\"\n[admin]\ntoken = \"secret\"\n",
    )
    .expect("node file");
    std::fs::write(dir.join("apis/pets.toml"), API.replace("BODY", body)).expect("api file");
}

fn cli(args: &[&str]) -> ExitCode {
    run(std::iter::once("causeway").chain(args.iter().copied()))
}

#[test]
fn validate_exit_codes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_str().expect("utf-8 path");
    write_config(tmp.path(), "hello");
    assert_eq!(cli(&["validate", "--config", dir]), ExitCode::SUCCESS);
    let bad = API.replace("GET /", "GET /{proxy+}/x");
    std::fs::write(tmp.path().join("apis/pets.toml"), bad).expect("write");
    assert_eq!(cli(&["validate", "--config", dir]), ExitCode::from(2));
    assert_eq!(
        cli(&["deploy", "--config", dir, "--admin", "127.0.0.1:9"]),
        ExitCode::from(2),
        "an invalid config is never sent"
    );
}

#[test]
fn client_verbs_against_a_node() {
    let tmp = tempfile::tempdir().expect("tempdir");
    write_config(tmp.path(), "v1");
    let set = load_dir(tmp.path()).expect("config");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let control = Control::open(&set, Gateway::new(&set.node)).expect("control");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(serve_admin(
        Arc::new(control),
        listener,
        "secret".into(),
        async move {
            let _ = stopped.await;
        },
    ));

    let dir = tmp.path().to_str().expect("utf-8 path");
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--config", dir, "--admin", &url]);
        cli(&all)
    };
    assert_eq!(with(&["stages"]), ExitCode::SUCCESS);
    assert_eq!(with(&["stages", "--api", "pets"]), ExitCode::SUCCESS);
    assert_eq!(with(&["stages", "--api", "cats"]), ExitCode::FAILURE);
    assert_eq!(
        with(&["rollback", "--api", "pets", "--stage", "prod"]),
        ExitCode::FAILURE,
        "no history yet"
    );
    write_config(tmp.path(), "v2");
    assert_eq!(with(&["deploy", "--description", "two"]), ExitCode::SUCCESS);
    assert_eq!(
        with(&["deploy", "--api", "pets", "--stage", "qa"]),
        ExitCode::SUCCESS
    );
    assert_eq!(with(&["deploy", "--api", "cats"]), ExitCode::from(2));
    assert_eq!(with(&["deployments", "--api", "pets"]), ExitCode::SUCCESS);
    assert_eq!(
        with(&["rollback", "--api", "pets", "--stage", "prod"]),
        ExitCode::SUCCESS
    );
    assert_eq!(
        with(&[
            "rollback",
            "--api",
            "pets",
            "--stage",
            "prod",
            "--to",
            "ffffffffffffffff"
        ]),
        ExitCode::FAILURE
    );
    assert_eq!(
        with(&["stages", "--token", "wrong"]),
        ExitCode::FAILURE,
        "bad token"
    );

    let _ = stop.send(());
    rt.block_on(server).expect("join").expect("serve");
}
