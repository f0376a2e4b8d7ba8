//! Percent-decoding of what the request carries, as API Gateway hands it to authorizers,
//! mappers and functions: query parameters with `+` as a space, path parameters with `+`
//! kept. Lossy (invalid UTF-8 becomes U+FFFD); borrowed where there is nothing to decode.

use std::borrow::Cow;

/// Decoded query-string pairs, in request order.
pub(crate) fn query_pairs(raw: Option<&str>) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (query(k), query(v))
        })
}

/// [`query_pairs`], owned: what authorizers and mappers are handed.
pub(crate) fn owned_query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    query_pairs(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// A query-string name or value: `+` as a space, then percent-decoded.
pub(crate) fn query(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        let spaced = s.replace('+', " ");
        Cow::Owned(
            percent_encoding::percent_decode_str(&spaced)
                .decode_utf8_lossy()
                .into_owned(),
        )
    } else {
        percent_encoding::percent_decode_str(s).decode_utf8_lossy()
    }
}

/// A path segment, percent-decoded; a `+` stays a `+` in a path, as API Gateway hands it
/// over.
pub(crate) fn path(s: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_path_decode_as_api_gateway_does() {
        let pairs: Vec<_> = query_pairs(Some(
            "item=milk&item=eg%67s&note=a+b&flag&caf%C3%A9=%E2%82%AC",
        ))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
        let want = [
            ("item", "milk"),
            ("item", "eggs"),
            ("note", "a b"),
            ("flag", ""),
            ("café", "€"),
        ];
        assert_eq!(
            pairs,
            want.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
        );
        assert_eq!(
            owned_query_pairs(Some("item=milk&item=eg%67s&note=a+b&flag")),
            [
                ("item".to_owned(), "milk".to_owned()),
                ("item".to_owned(), "eggs".to_owned()),
                ("note".to_owned(), "a b".to_owned()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert_eq!(path("a+b%20c%2Fd"), "a+b c/d");
        assert!(matches!(query("plain"), Cow::Borrowed("plain")));
        assert_eq!(query("bad%FF"), "bad\u{FFFD}");
    }
}
