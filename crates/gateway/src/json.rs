//! JSON string literals written straight into a `String`, escaped exactly as serde_json
//! escapes them (access-log lines, FUNCTION proxy events).

/// `s` as a JSON string literal.
pub(crate) fn quoted(out: &mut String, s: &str) {
    out.push('"');
    escaped(out, s);
    out.push('"');
}

/// `s` escaped for the inside of a JSON string literal, as serde_json escapes it.
pub(crate) fn escaped(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so on a char boundary.
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_are_escaped_like_serde_json() {
        for s in [
            "plain",
            "",
            "quote\" back\\slash",
            "tab\tnl\ncr\r",
            "\u{0}\u{1}\u{8}\u{c}\u{1f}\u{7f}",
            "ünïcödé ✓",
        ] {
            let mut out = String::new();
            super::quoted(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).expect("json"), "{s:?}");
        }
    }
}
