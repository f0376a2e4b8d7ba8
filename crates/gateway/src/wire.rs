//! HTTP/1.1 text that both of the gateway's codecs read and write: the listener's
//! (`server::h1`, requests in, answers out) and the upstream client's
//! (`phases::integrate::pool::h1`, requests out, answers in). No I/O, no state.

/// A `content-length` value: decimal digits only, at most 19 of them (so it cannot
/// overflow).
pub(crate) fn parse_length(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    digits.iter().try_fold(0_u64, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + u64::from(d - b'0'))
    })
}

/// The comma-separated elements of a list field (`connection`, `transfer-encoding`),
/// trimmed.
pub(crate) fn tokens(value: &[u8]) -> impl DoubleEndedIterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(<[u8]>::trim_ascii)
}

/// The list field `value` holds `token`, in any case.
pub(crate) fn has_token(value: &[u8], token: &[u8]) -> bool {
    tokens(value).any(|t| t.eq_ignore_ascii_case(token))
}

/// Whether `name`, a token (httparse checked its bytes), is `lower` in any case. For a
/// token byte `b`, `b | 0x20` is a given lowercase letter only when `b` is that letter
/// in either case, and `-` or a digit only when `b` is that byte: one OR per byte, no
/// case table (the codecs' tables of common names use it).
pub(crate) fn token_is(name: &[u8], lower: &[u8]) -> bool {
    name.len() == lower.len() && name.iter().zip(lower).all(|(&b, &t)| b | 0x20 == t)
}

/// Append a `content-length: n` field.
pub(crate) fn content_length(n: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(b"content-length: ");
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Append the size line of a chunk of `len` (non-zero) bytes.
pub(crate) fn chunk_head(len: usize, out: &mut Vec<u8>) {
    let _ = std::io::Write::write_fmt(out, format_args!("{len:x}\r\n"));
}

/// The end of a chunked body (no trailers).
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_plain_digits_that_fit() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"1234"), Some(1234));
        assert_eq!(
            parse_length(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [
            &b""[..],
            b"-1",
            b"+1",
            b" 1",
            b"1a",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn list_tokens_match_in_any_case_after_trimming() {
        assert!(has_token(b"keep-alive, Close", b"close"));
        assert!(!has_token(b"closed, x-close", b"close"));
        assert_eq!(tokens(b"gzip , chunked").next_back(), Some(&b"chunked"[..]));
    }

    #[test]
    fn names_match_their_lowercase_text_only() {
        assert!(token_is(b"Content-Length", b"content-length"));
        assert!(!token_is(b"Content-Lengt", b"content-length"));
        assert!(!token_is(b"content_length", b"content-length"));
    }
}
