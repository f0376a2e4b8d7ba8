//! Response compression (REST APIs with `minimum_compression_size`, API Gateway's
//! `minimumCompressionSize`): the request says which coding the client accepts; on the
//! way out, a response of at least that many bytes (or of a length not known up front,
//! as nginx's `gzip_min_length` treats it) is encoded as it streams
//! ([`crate::compress`]). Left alone: HEAD answers, 1xx/204/206/304, a response already
//! content-encoded (by an upstream), marked `Cache-Control: no-transform`, or under the
//! minimum. Every response that would have been compressed for a client accepting it
//! says `Vary: Accept-Encoding`, compressed or not, so a shared cache in front keeps the
//! two apart (nginx's `gzip_vary`).

use http::header::{CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, VARY};
use http::{HeaderValue, Method, Response, StatusCode};

use crate::body::Body;
use crate::compress::{Encoded, accepted};
use crate::context::RequestCtx;
use crate::pipeline::{Flow, Phase, Step};

pub(crate) struct Compress;

impl Phase for Compress {
    fn name(&self) -> &'static str {
        "compress"
    }

    fn request<'a>(&'a self, ctx: &'a mut RequestCtx) -> Step<'a> {
        if let Some(min) = ctx
            .stage
            .as_deref()
            .and_then(|s| s.deployment.spec().minimum_compression_size)
            && ctx.parts.method != Method::HEAD
        {
            ctx.compress = Some((accepted(&ctx.parts.headers), min));
        }
        Step::Now(Flow::Continue)
    }

    fn response(&self, ctx: &mut RequestCtx, resp: &mut Response<Body>) {
        let Some((coding, min)) = ctx.compress else {
            return;
        };
        let status = resp.status();
        if status.is_informational()
            || matches!(
                status,
                StatusCode::NO_CONTENT | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
            )
            || resp.headers().contains_key(CONTENT_ENCODING)
            || resp
                .headers()
                .get_all(CACHE_CONTROL)
                .iter()
                .any(|v| crate::wire::has_token(v.as_bytes(), b"no-transform"))
        {
            return;
        }
        if http_body::Body::size_hint(resp.body())
            .exact()
            .is_some_and(|n| n < min)
        {
            return;
        }
        resp.headers_mut()
            .append(VARY, HeaderValue::from_static("accept-encoding"));
        let Some(coding) = coding else {
            return;
        };
        let body = std::mem::take(resp.body_mut());
        *resp.body_mut() = Body::Compressed(Box::new(Encoded::new(body, coding)));
        let headers = resp.headers_mut();
        headers.remove(CONTENT_LENGTH);
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(coding.name()));
    }
}
