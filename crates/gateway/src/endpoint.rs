//! Endpoint types at the door: which listener serves an API, and to which clients. A
//! PRIVATE API is served only on the private listener and only to clients in its source
//! networks; the private listener serves nothing else. REGIONAL and EDGE APIs are served
//! on the public listener (EDGE as REGIONAL until edges front the node).

use std::net::IpAddr;

use causeway_model::{EndpointSpec, EndpointType, Network};

use crate::error::{ErrorKind, GatewayError};

/// An API's endpoint, compiled once per deployment.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    private: bool,
    networks: Vec<Network>,
}

impl Endpoint {
    /// The compiled form of a validated spec (a network that does not parse — impossible
    /// after validation — admits nobody).
    pub(crate) fn new(spec: &EndpointSpec) -> Endpoint {
        Endpoint {
            private: spec.kind == EndpointType::Private,
            networks: spec
                .source_networks
                .iter()
                .filter_map(|n| Network::parse(n).ok())
                .collect(),
        }
    }

    /// Whether a request on the private listener (`private`) from `client` may reach the
    /// API. A public-listener request for a PRIVATE API, or a private-listener request
    /// for another, is a 403 `Forbidden` (API Gateway's answer for a private API reached
    /// without a VPC endpoint); a client outside the source networks gets the refusal of
    /// a resource policy.
    pub(crate) fn admits(
        &self,
        private: bool,
        client: IpAddr,
        resource: impl FnOnce() -> String,
    ) -> Result<(), GatewayError> {
        if private != self.private {
            return Err(GatewayError::new(ErrorKind::Forbidden));
        }
        if self.private && !self.networks.iter().any(|n| n.contains(client)) {
            tracing::debug!(%client, "client outside the PRIVATE API's source networks");
            return Err(GatewayError::new(ErrorKind::AccessDenied).with_message(format!(
                "User: anonymous is not authorized to perform: execute-api:Invoke on resource: {}",
                resource()
            )));
        }
        Ok(())
    }
}
