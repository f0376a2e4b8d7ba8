//! Request ids and API Gateway's body on the answers hyper writes by itself.
//!
//! A request line or header block hyper cannot parse never reaches the pipeline: hyper
//! answers `400 Bad Request` (or `431`, `414`, `505`) on its own, without the
//! `x-amzn-requestid` header every other answer carries and with an empty body.
//! [`WithRequestIds`] wraps a connection's stream and, when an answer head of status
//! 4xx/5xx without that header is written, inserts one (a fresh id, logged with the
//! reason) and gives the answer the body every other error has, `{"message": REASON}` as
//! JSON (its `content-length` set to match). Answers of 2xx/3xx and heads
//! that already have the header pass through untouched; the check is a prefix comparison
//! and, for error heads only, a scan of the head.
//!
//! What hyper writes on its own has one shape, and only that shape is patched: a write
//! that is exactly one answer head (nothing after its blank line) of status 4xx/5xx with
//! `content-length: 0` and no request id. hyper writes it only between messages (its
//! writer idle), as a head without a body. A piece of a body, which can be any bytes, is
//! left alone unless it is that whole head by itself at the start of a write: a body whose
//! chunk is, byte for byte, a bodiless HTTP error answer is the one thing this cannot tell
//! apart.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

const HEADER: &[u8] = b"x-amzn-requestid";

/// A stream whose hyper-made error answers get a request id.
#[derive(Debug)]
pub(crate) struct WithRequestIds<S> {
    inner: S,
    /// A patched head being written, how much of it is out, and how many bytes of the
    /// caller's buffer it stands for.
    pending: Option<(Vec<u8>, usize, usize)>,
}

impl<S> WithRequestIds<S> {
    pub(crate) fn new(inner: S) -> Self {
        WithRequestIds {
            inner,
            pending: None,
        }
    }
}

/// `buf` with a request id header after the status line and a JSON body naming the
/// status's reason, if it is exactly hyper's own answer: one bodiless HTTP/1.1 head of an
/// error status, `content-length: 0`, no id.
fn patched(buf: &[u8]) -> Option<Vec<u8>> {
    let status = buf.strip_prefix(b"HTTP/1.1 ")?;
    if !matches!(status.first(), Some(b'4' | b'5')) {
        return None;
    }
    let head_end = find(buf, b"\r\n\r\n")?;
    if head_end + 4 != buf.len() {
        // Something follows the head: not hyper's bodiless answer.
        return None;
    }
    let head = &buf[..head_end];
    if head
        .windows(HEADER.len())
        .any(|w| w.eq_ignore_ascii_case(HEADER))
        || !has_empty_length(head)
    {
        return None;
    }
    let line_end = find(buf, b"\r\n")?;
    let id = crate::context::RequestId::new();
    let status_line = String::from_utf8_lossy(&buf[9..line_end]);
    tracing::debug!(request_id = %id, status = %status_line, "answered by hyper (malformed request)");
    // `400 Bad Request` -> `Bad Request` (a status line without a reason: the code).
    let reason = status_line
        .split_once(' ')
        .map_or(&*status_line, |(_, reason)| reason);
    // As `GatewayError` renders its body.
    let body = serde_json::json!({ "message": reason }).to_string();
    let mut out = Vec::with_capacity(buf.len() + HEADER.len() + 80 + body.len());
    out.extend_from_slice(&buf[..line_end + 2]);
    out.extend_from_slice(HEADER);
    out.extend_from_slice(b": ");
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(b"\r\ncontent-type: application/json\r\n");
    // The other fields, `content-length: 0` replaced by the body's length.
    for line in buf[line_end + 2..head_end].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.eq_ignore_ascii_case(b"content-length: 0") {
            out.extend_from_slice(format!("content-length: {}", body.len()).as_bytes());
        } else {
            out.extend_from_slice(line);
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body.as_bytes());
    Some(out)
}

/// The head says `content-length: 0` (hyper writes the name in lower case).
fn has_empty_length(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n').any(|line| {
        line.strip_suffix(b"\r")
            .unwrap_or(line)
            .eq_ignore_ascii_case(b"content-length: 0")
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl<S: AsyncWrite + Unpin> WithRequestIds<S> {
    /// Write the pending patched head; Ready(n) with the caller's byte count once it is out.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, done, stands_for)) = &mut self.pending {
            if *done == bytes.len() {
                let n = *stands_for;
                self.pending = None;
                return Poll::Ready(Ok(n));
            }
            match Pin::new(&mut self.inner).poll_write(cx, &bytes[*done..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *done += n,
                other => return other,
            }
        }
        Poll::Ready(Ok(0))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WithRequestIds<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WithRequestIds<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        if me.pending.is_none()
            && let Some(p) = patched(buf)
        {
            me.pending = Some((p, 0, buf.len()));
        }
        if me.pending.is_some() {
            return me.drain(cx);
        }
        Pin::new(&mut me.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        // Only a write of one buffer can be hyper's own answer (it has no body).
        if me.pending.is_none()
            && let Some(first) = bufs.first()
            && bufs.iter().skip(1).all(|b| b.is_empty())
            && let Some(p) = patched(first)
        {
            me.pending = Some((p, 0, first.len()));
        }
        if me.pending.is_some() {
            return me.drain(cx);
        }
        Pin::new(&mut me.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let me = self.get_mut();
        if me.pending.is_some() {
            match me.drain(cx) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Pin::new(&mut me.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::patched;

    #[test]
    fn only_error_heads_without_an_id_are_patched() {
        let canned = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n";
        let out = patched(canned).expect("patched");
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("HTTP/1.1 400 Bad Request\r\nx-amzn-requestid: "),
            "{text}"
        );
        let body = r#"{"message":"Bad Request"}"#;
        assert!(
            text.ends_with(&format!(
                "\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            )),
            "{text}"
        );
        let (head, _) = text.split_once("\r\n\r\n").expect("head");
        assert_eq!(head.matches("content-length").count(), 1, "{text}");
        // hyper's other fields stay, in order.
        let closing = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let text = String::from_utf8(patched(closing).expect("patched")).expect("text");
        let body = r#"{"message":"Request Header Fields Too Large"}"#;
        let tail = format!(
            "\r\nconnection: close\r\ncontent-length: {}\r\ndate: x\r\n\r\n{body}",
            body.len()
        );
        assert!(text.ends_with(&tail), "{text}");
        // Ours already carry the header; successes are never looked at.
        assert!(patched(b"HTTP/1.1 404 Not Found\r\nX-Amzn-RequestId: a\r\n\r\n").is_none());
        assert!(patched(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        // A body chunk, or a head split across writes, is left alone.
        assert!(patched(b"HTTP/1.1 400 Bad Request\r\ncontent-le").is_none());
        assert!(patched(b"{\"message\":\"x\"}").is_none());
        // A body that quotes an HTTP answer (a head and more, or a head with a length) is
        // not hyper's bodiless answer.
        assert!(patched(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\nmore").is_none());
        assert!(patched(b"HTTP/1.1 500 Oops\r\ncontent-length: 12\r\n\r\n").is_none());
        assert!(patched(b"HTTP/1.1 500 Oops\r\nx: content-length: 0\r\n\r\n").is_none());
    }
}
