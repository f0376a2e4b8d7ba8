//! Where an API is served: API Gateway's endpoint configuration. A `REGIONAL` API (the
//! default) is served on the node's public listener; a `PRIVATE` one only on its private
//! listener (`node.private_listen`), and only to clients in the API's source networks —
//! Causeway's stand-in for a VPC endpoint and a resource policy. `EDGE` APIs are meant
//! to be reached through edge nodes; until a node has edges in front of it, its public
//! listener serves them as it serves `REGIONAL` ones.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// The endpoint type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum EndpointType {
    /// Reached through edge nodes.
    #[serde(rename = "EDGE")]
    Edge,
    /// Reached on a region's public listener.
    #[default]
    #[serde(rename = "REGIONAL")]
    Regional,
    /// Reached on a region's private listener, from allowed source networks only.
    #[serde(rename = "PRIVATE")]
    Private,
}

impl EndpointType {
    /// API Gateway's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointType::Edge => "EDGE",
            EndpointType::Regional => "REGIONAL",
            EndpointType::Private => "PRIVATE",
        }
    }
}

/// `[endpoint]` of an API file.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointSpec {
    /// `EDGE`, `REGIONAL` (default) or `PRIVATE`.
    #[serde(rename = "type", default)]
    pub kind: EndpointType,
    /// `PRIVATE` only, and required there: the client networks allowed to call the API,
    /// as CIDR blocks (`10.0.0.0/8`, `fd00::/8`) or single addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_networks: Vec<String>,
    /// API Gateway's `disableExecuteApiEndpoint`: the API is served only through its
    /// custom domains, not at `{api-id}.execute-api.…` (403 there), so that what a domain
    /// enforces (mutual TLS, say) cannot be walked around.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_execute_api_endpoint: bool,
}

/// `[resource_policy]` of an API file: who may invoke it by source address, as the
/// `aws:SourceIp` conditions of an API Gateway resource policy. A client in a `deny`
/// network is refused; with `allow` networks, so is every client outside them. Edge
/// nodes' clients are judged by the address the edge vouches for.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourcePolicySpec {
    /// Only clients in these networks (CIDR blocks or addresses); empty: every client.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_source_networks: Vec<String>,
    /// Never clients in these networks (wins over `allow_source_networks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny_source_networks: Vec<String>,
}

impl ResourcePolicySpec {
    /// Whether this is what an API file without `[resource_policy]` gets (everyone).
    pub fn is_default(&self) -> bool {
        *self == ResourcePolicySpec::default()
    }
}

impl EndpointSpec {
    /// Whether this is what an API file without `[endpoint]` gets.
    pub fn is_default(&self) -> bool {
        *self == EndpointSpec::default()
    }
}

/// A source network: an address and how many leading bits of it a client must share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network(ipnet::IpNet);

impl Network {
    /// Parse `10.0.0.0/8`, `fd00::/8` or a single address (`127.0.0.1`).
    pub fn parse(s: &str) -> Result<Network, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| {
            format!("`{s}` is not a network: write an address with a prefix length, like `10.0.0.0/8` or `fd00::/8`")
        })?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p.trim().parse::<u8>().unwrap_or(u8::MAX),
        };
        ipnet::IpNet::new(addr, prefix)
            .map(Network)
            .map_err(|_| format!("`{s}`: the prefix length must be 0..={max}"))
    }

    /// Whether `ip` is in this network (an IPv4 client reaching an IPv6 socket, as
    /// `::ffff:a.b.c.d`, counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn networks_parse_and_contain_their_addresses_only() {
        let net = Network::parse("10.1.0.0/16").expect("v4");
        assert!(net.contains(ip("10.1.200.3")));
        assert!(!net.contains(ip("10.2.0.1")));
        assert!(net.contains(ip("::ffff:10.1.0.9")), "IPv4-mapped client");
        assert!(!net.contains(ip("fd00::1")));
        let one = Network::parse("127.0.0.2").expect("address");
        assert_eq!(one.to_string(), "127.0.0.2/32");
        assert!(one.contains(ip("127.0.0.2")) && !one.contains(ip("127.0.0.1")));
        let v6 = Network::parse("fd00::/8").expect("v6");
        assert!(v6.contains(ip("fd12::5")) && !v6.contains(ip("fe80::1")));
        assert!(
            Network::parse("0.0.0.0/0")
                .expect("all")
                .contains(ip("192.0.2.1"))
        );
        assert!(
            Network::parse("::/0")
                .expect("all v6")
                .contains(ip("2001:db8::1"))
        );
        for bad in [
            "10.0.0.0/33",
            "fd00::/129",
            "10.0.0/8",
            "ten",
            "10.0.0.0/x",
            "",
        ] {
            assert!(Network::parse(bad).is_err(), "{bad} parsed");
        }
    }
}
