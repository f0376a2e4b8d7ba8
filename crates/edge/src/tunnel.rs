//! WebSocket connections (any HTTP/1.1 upgrade) through the edge: the client's upgrade
//! request goes to a region over a connection of its own; when the region answers 101 the
//! edge answers 101 too and copies bytes both ways until either side closes, else the
//! region's answer is passed on as it is. A region that cannot be reached is skipped, as
//! for any request.

use std::time::Duration;

use causeway_gateway::Body;
use http::header::{self, HeaderMap};
use http::{Method, Request, Response, StatusCode};
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

/// Whether the request asks to switch protocols (`Connection: upgrade` and `Upgrade`).
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// The region's answer to the upgrade request (a refusal's body streamed as the region
/// sends it, whatever its framing), and the region's side of the tunnel when it is a 101.
pub(crate) struct Opened {
    pub(crate) response: Response<Body>,
    pub(crate) upgraded: Option<OnUpgrade>,
}

/// Sends the upgrade request over `stream` (a new connection to a region, spoken to by
/// hyper's HTTP/1.1 client) and waits for the answer's head; an error means the region
/// failed after the request was sent.
pub(crate) async fn open<S>(
    stream: S,
    answer_timeout: Duration,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Result<Opened, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut request = Request::new(Body::Empty);
    *request.method_mut() = method.clone();
    *request.uri_mut() = path.parse().map_err(|e| format!("request target: {e}"))?;
    *request.headers_mut() = headers.clone();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    // Drives the connection: the refusal's body, or the hand-over of an upgraded one.
    tokio::spawn(async move {
        if let Err(e) = connection.with_upgrades().await {
            tracing::debug!(error = %e, "region connection of an upgrade request failed");
        }
    });
    let mut answer = tokio::time::timeout(answer_timeout, sender.send_request(request))
        .await
        .map_err(|_| "no answer in time".to_owned())?
        .map_err(|e| e.to_string())?;
    if answer.status() == StatusCode::SWITCHING_PROTOCOLS {
        let upgraded = hyper::upgrade::on(&mut answer);
        let (parts, _) = answer.into_parts();
        return Ok(Opened {
            response: Response::from_parts(parts, Body::Empty),
            upgraded: Some(upgraded),
        });
    }
    // Refused (401, 403, 404, …): passed on as it is; hyper frames the body again.
    let (mut parts, body) = answer.into_parts();
    parts.headers.remove(header::CONNECTION);
    parts.headers.remove(header::TRANSFER_ENCODING);
    Ok(Opened {
        response: Response::from_parts(parts, Body::Stream(body)),
        upgraded: None,
    })
}

/// Copies bytes between the client's upgraded connection and the region's until either
/// closes (hyper hands on any bytes either side sent right after its head).
pub(crate) async fn pipe(client: OnUpgrade, region: OnUpgrade, node: String) {
    let (client, region) = match tokio::try_join!(client, region) {
        Ok(both) => both,
        Err(e) => {
            tracing::debug!(region = %node, error = %e, "the upgrade did not complete");
            return;
        }
    };
    let (mut client, mut region) = (TokioIo::new(client), TokioIo::new(region));
    if let Err(e) = tokio::io::copy_bidirectional(&mut client, &mut region).await {
        tracing::debug!(region = %node, error = %e, "tunnel closed with an error");
    }
}

#[cfg(test)]
mod tests;
