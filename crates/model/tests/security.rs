//! Security settings as config: a custom domain's truststore (mutual TLS), the node's
//! client certificate for upstreams, an API's resource policy and execute-api endpoint.

use std::path::Path;

#[test]
fn a_domain_truststore_is_resolved_checked_and_needs_the_https_listener() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write_node = |tls: bool| {
        let listener = if tls {
            "[node.tls]\nlisten = \"127.0.0.1:0\"\ncert_file = \"certs/server.pem\"\nkey_file = \"certs/server.key\"\n"
        } else {
            ""
        };
        let text = format!(
            "version = 1\n{listener}[[domains]]\nname = \"api.example.test\"\nmappings = []\ntruststore_file = \"certs/clients.pem\"\n"
        );
        std::fs::write(dir.path().join("causeway.toml"), text).expect("write");
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tls");
    std::fs::create_dir(dir.path().join("certs")).expect("mkdir");
    for f in ["server.pem", "server.key"] {
        std::fs::copy(fixtures.join(f), dir.path().join("certs").join(f)).expect("copy");
    }
    write_node(true);
    let errs = causeway_model::load_dir(dir.path()).expect_err("missing").0;
    assert!(
        errs.iter()
            .any(|e| e.field == "domains[0].truststore_file" && e.message.contains("cannot read")),
        "{errs:?}"
    );
    std::fs::write(dir.path().join("certs/clients.pem"), "no PEM here").expect("write");
    let errs = causeway_model::load_dir(dir.path()).expect_err("not PEM").0;
    assert!(
        errs.iter().any(|e| e.field == "domains[0].truststore_file"),
        "{errs:?}"
    );
    std::fs::copy(
        fixtures.join("ca.pem"),
        dir.path().join("certs/clients.pem"),
    )
    .expect("copy");
    let set = causeway_model::load_dir(dir.path()).expect("valid");
    assert_eq!(
        set.node.domains[0]
            .truststore_file
            .as_deref()
            .map(Path::new),
        Some(dir.path().join("certs/clients.pem").as_path())
    );
    write_node(false);
    let errs = causeway_model::load_dir(dir.path())
        .expect_err("no listener")
        .0;
    assert!(
        errs.iter()
            .any(|e| e.field == "domains[0].truststore_file" && e.message.contains("[node.tls]")),
        "{errs:?}"
    );
}

#[test]
fn resource_policies_and_domain_only_apis_are_checked_with_their_place() {
    let api = |extra: &str| {
        format!(
            "version = 1\nid = \"a\"\nname = \"A\"\ntype = \"REST\"\n{extra}[[routes]]\nkey = \"GET /\"\nintegration = {{ type = \"MOCK\" }}\n"
        )
    };
    let ok = causeway_model::parse_api(
        "a.toml",
        &api("[resource_policy]\nallow_source_networks = [\"10.0.0.0/8\", \"fd00::/8\"]\ndeny_source_networks = [\"10.1.2.3\"]\n[endpoint]\ndisable_execute_api_endpoint = true\n"),
    )
    .expect("valid");
    assert_eq!(ok.resource_policy.deny_source_networks, ["10.1.2.3"]);
    assert!(ok.endpoint.disable_execute_api_endpoint);

    let errs = causeway_model::parse_api(
        "a.toml",
        &api("[resource_policy]\nallow_source_networks = [\"10.0.0.0/33\"]\ndeny_source_networks = [\"nope\"]\n"),
    )
    .expect_err("bad networks")
    .0;
    let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "resource_policy.allow_source_networks[0]",
            "resource_policy.deny_source_networks[0]"
        ],
        "{errs:?}"
    );
    let errs = causeway_model::parse_api(
        "a.toml",
        &api("[resource_policy]\nallow = [\"10.0.0.0/8\"]\n"),
    )
    .expect_err("unknown field")
    .0;
    assert!(errs.iter().any(|e| e.message.contains("allow")), "{errs:?}");
    let errs = causeway_model::parse_api(
        "a.toml",
        &api("[endpoint]\ntype = \"PRIVATE\"\nsource_networks = [\"10.0.0.0/8\"]\ndisable_execute_api_endpoint = true\n"),
    )
    .expect_err("private")
    .0;
    assert!(
        errs.iter()
            .any(|e| e.field == "endpoint.disable_execute_api_endpoint"),
        "{errs:?}"
    );
}

#[test]
fn an_upstream_client_certificate_needs_its_key_and_both_are_resolved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tls");
    std::fs::copy(fixtures.join("server.pem"), dir.path().join("client.pem")).expect("copy");
    std::fs::copy(fixtures.join("server.key"), dir.path().join("client.key")).expect("copy");
    let write = |text: &str| {
        std::fs::write(
            dir.path().join("causeway.toml"),
            format!("version = 1\n[node]\n{text}"),
        )
        .expect("write");
    };
    write("upstream_client_cert_file = \"client.pem\"\n");
    let errs = causeway_model::load_dir(dir.path()).expect_err("no key").0;
    assert!(
        errs.iter()
            .any(|e| e.field == "node.upstream_client_key_file"),
        "{errs:?}"
    );
    write(
        "upstream_client_cert_file = \"client.key\"\nupstream_client_key_file = \"client.key\"\n",
    );
    let errs = causeway_model::load_dir(dir.path())
        .expect_err("a key as the cert")
        .0;
    assert!(
        errs.iter()
            .any(|e| e.field == "node.upstream_client_cert_file"
                && e.message.contains("does not hold")),
        "{errs:?}"
    );
    write(
        "upstream_client_cert_file = \"client.pem\"\nupstream_client_key_file = \"client.key\"\n",
    );
    let set = causeway_model::load_dir(dir.path()).expect("valid");
    assert_eq!(
        set.node
            .node
            .upstream_client_key_file
            .as_deref()
            .map(Path::new),
        Some(dir.path().join("client.key").as_path())
    );
}
