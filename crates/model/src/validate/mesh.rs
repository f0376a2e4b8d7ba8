//! `[mesh]` of the node file.

use std::collections::BTreeSet;

use super::Report;
use crate::node::edge::EdgeSection;
use crate::node::mesh::{MeshSection, valid_mesh_id};

/// `[edge]`: regions that are mesh peers, reachable over `http://host:port`.
pub(crate) fn check_edge(r: &mut Report<'_>, edge: &EdgeSection, mesh: Option<&MeshSection>) {
    let Some(mesh) = mesh else {
        r.err(
            "edge",
            "an edge node finds the nearest region through the mesh: add a `[mesh]` section listing the regional nodes as peers",
        );
        return;
    };
    if edge.regions.is_empty() {
        r.err(
            "edge.regions",
            "name at least one regional node to forward to",
        );
    }
    if !(10..=10_000).contains(&edge.connect_timeout_ms) {
        r.err(
            "edge.connect_timeout_ms",
            "use 10..=10000 milliseconds (default 1000)",
        );
    }
    let mut seen = BTreeSet::new();
    for (i, region) in edge.regions.iter().enumerate() {
        if !mesh.peers.iter().any(|p| p.id == region.node) {
            r.err(
                format!("edge.regions[{i}].node"),
                format!(
                    "`{}` is not one of mesh.peers; the edge measures and watches regions through the mesh",
                    region.node
                ),
            );
        } else if !seen.insert(region.node.as_str()) {
            r.err(
                format!("edge.regions[{i}].node"),
                format!("`{}` is listed twice", region.node),
            );
        }
        let host_port = region
            .url
            .strip_prefix("http://")
            .map(|rest| rest.trim_end_matches('/'));
        let ok = host_port.is_some_and(|hp| {
            !hp.is_empty()
                && !hp.contains('/')
                && hp
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0))
        });
        if !ok {
            r.err(
                format!("edge.regions[{i}].url"),
                format!(
                    "`{}` is not `http://host:port` (the region's public listener)",
                    region.url
                ),
            );
        }
    }
}

pub(crate) fn check(r: &mut Report<'_>, mesh: &MeshSection) {
    let id_help =
        "use a DNS name (letters, digits, `-`, dot-separated), the name in the node's certificate";
    if !valid_mesh_id(&mesh.id) {
        r.err(
            "mesh.id",
            format!("`{}` is not a DNS name: {id_help}", mesh.id),
        );
    }
    if mesh.listen.port() == 0 {
        r.err(
            "mesh.listen",
            "name a fixed UDP port: peers dial this address",
        );
    }
    for (field, path) in [
        ("mesh.ca_file", &mesh.ca_file),
        ("mesh.cert_file", &mesh.cert_file),
        ("mesh.key_file", &mesh.key_file),
    ] {
        if path.is_empty() {
            r.err(
                field,
                "name a PEM file (`causeway mesh certs` mints a CA and node certificates)",
            );
        }
    }
    if !(50..=60_000).contains(&mesh.ping_interval_ms) {
        r.err(
            "mesh.ping_interval_ms",
            "use 50..=60000 milliseconds (default 1000)",
        );
    }
    if mesh.down_after_ms < mesh.ping_interval_ms.saturating_mul(2) || mesh.down_after_ms > 600_000
    {
        r.err(
            "mesh.down_after_ms",
            "use at least two ping intervals and at most 600000 milliseconds (default 3000)",
        );
    }
    if !(100..=60_000).contains(&mesh.quota_sync_ms) {
        r.err(
            "mesh.quota_sync_ms",
            "use 100..=60000 milliseconds (default 1000)",
        );
    }
    let mut ids = BTreeSet::from([mesh.id.as_str()]);
    let mut addresses = BTreeSet::from([mesh.listen]);
    for (i, peer) in mesh.peers.iter().enumerate() {
        if !valid_mesh_id(&peer.id) {
            r.err(
                format!("mesh.peers[{i}].id"),
                format!("`{}` is not a DNS name: {id_help}", peer.id),
            );
        } else if !ids.insert(&peer.id) {
            r.err(
                format!("mesh.peers[{i}].id"),
                format!(
                    "`{}` is this node's id or another peer's; each node has its own",
                    peer.id
                ),
            );
        }
        if peer.address.port() == 0 || !addresses.insert(peer.address) {
            r.err(
                format!("mesh.peers[{i}].address"),
                format!(
                    "{} is port 0, this node's mesh.listen or another peer's address",
                    peer.address
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::node::mesh::valid_mesh_id;

    #[test]
    fn every_mistake_is_reported_with_its_place() {
        let text = r#"
version = 1
[mesh]
id = "node_a"
listen = "127.0.0.1:0"
ca_file = ""
cert_file = "a.pem"
key_file = "a-key.pem"
ping_interval_ms = 10
down_after_ms = 15
peers = [
  { id = "node-b", address = "127.0.0.1:7401" },
  { id = "node-b", address = "127.0.0.1:7401" },
]
"#;
        let errors = crate::parse_node("causeway.toml", text)
            .expect_err("refused")
            .0;
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "mesh.id",
                "mesh.listen",
                "mesh.ca_file",
                "mesh.ping_interval_ms",
                "mesh.down_after_ms",
                "mesh.peers[1].id",
                "mesh.peers[1].address",
            ]
        );
        assert!(errors.iter().all(|e| e.file == "causeway.toml"));
        let unknown = crate::parse_node("causeway.toml", "version = 1\n[mesh]\nidd = 1\n")
            .expect_err("unknown field")
            .0;
        assert!(unknown[0].message.contains("idd"), "{unknown:?}");
    }

    #[test]
    fn mesh_ids_are_dns_names() {
        for ok in ["node-a", "eu-west-1a.causeway.internal", "n1"] {
            assert!(valid_mesh_id(ok), "{ok}");
        }
        for bad in [
            "",
            "a..b",
            "-a",
            "a-",
            "a_b",
            "10.0.0.1",
            "a b",
            &"x".repeat(64),
        ] {
            assert!(!valid_mesh_id(bad), "{bad}");
        }
    }
}
