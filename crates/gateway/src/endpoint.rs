//! Endpoint types at the door: which listener serves an API, and to which clients. A
//! PRIVATE API is served only on the private listener and only to clients in its source
//! networks; the private listener serves nothing else. REGIONAL and EDGE APIs are served
//! on the public listener (EDGE as REGIONAL until edges front the node). An API's
//! resource policy then admits clients by source address, and an API may be served only
//! through its custom domains (`disable_execute_api_endpoint`).

use std::net::IpAddr;

use causeway_model::{EndpointSpec, EndpointType, Network, ResourcePolicySpec};

use crate::error::{ErrorKind, GatewayError};

/// An API's endpoint, compiled once per deployment.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    private: bool,
    networks: Vec<Network>,
    /// The resource policy: only clients in `allow` (when it names any), never those in
    /// `deny`.
    allow: Vec<Network>,
    deny: Vec<Network>,
    /// Served only through custom domains.
    domains_only: bool,
    /// Public, at any host, to every client: nothing to check on the public listener.
    open: bool,
}

impl Endpoint {
    /// The compiled form of a validated spec (a network that does not parse — impossible
    /// after validation — admits nobody).
    pub(crate) fn new(spec: &EndpointSpec, policy: &ResourcePolicySpec) -> Endpoint {
        let parse = |list: &[String]| -> Vec<Network> {
            list.iter().filter_map(|n| Network::parse(n).ok()).collect()
        };
        let private = spec.kind == EndpointType::Private;
        let (allow, deny) = (
            parse(&policy.allow_source_networks),
            parse(&policy.deny_source_networks),
        );
        Endpoint {
            open: !private
                && !spec.disable_execute_api_endpoint
                && allow.is_empty()
                && deny.is_empty(),
            private,
            networks: parse(&spec.source_networks),
            allow,
            deny,
            domains_only: spec.disable_execute_api_endpoint,
        }
    }

    /// Whether a request for `host` on the private listener (`private`) from `client`
    /// may reach the API: [`admits`](Self::admits), and at its execute-api host only
    /// unless that is disabled (a 403 `Forbidden` there, as API Gateway answers).
    #[inline]
    pub(crate) fn serves(
        &self,
        host: &str,
        private: bool,
        client: IpAddr,
        resource: impl FnOnce() -> String,
    ) -> Result<(), GatewayError> {
        if self.open && !private {
            return Ok(());
        }
        if self.domains_only && host.ends_with(crate::EXECUTE_API_SUFFIX) {
            return Err(GatewayError::new(ErrorKind::Forbidden));
        }
        self.admits(private, client, resource)
    }

    /// Whether the API has a resource policy to check (the client's source address is
    /// looked up only then).
    #[inline]
    pub(crate) fn has_policy(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty()
    }

    /// Whether a request on the private listener (`private`) from `client` may reach the
    /// API. A public-listener request for a PRIVATE API, or a private-listener request
    /// for another, is a 403 `Forbidden` (API Gateway's answer for a private API reached
    /// without a VPC endpoint); a client outside the source networks gets the refusal of
    /// a resource policy.
    fn admits(
        &self,
        private: bool,
        client: IpAddr,
        resource: impl FnOnce() -> String,
    ) -> Result<(), GatewayError> {
        if private != self.private {
            return Err(GatewayError::new(ErrorKind::Forbidden));
        }
        let outside_private = self.private && !self.networks.iter().any(|n| n.contains(client));
        let refused_by_policy = self.deny.iter().any(|n| n.contains(client))
            || (!self.allow.is_empty() && !self.allow.iter().any(|n| n.contains(client)));
        if outside_private || refused_by_policy {
            tracing::debug!(%client, outside_private, "client refused by the API's source networks");
            return Err(GatewayError::new(ErrorKind::AccessDenied).with_message(format!(
                "User: anonymous is not authorized to perform: execute-api:Invoke on resource: {}",
                resource()
            )));
        }
        Ok(())
    }
}
