//! JSON string literals written straight into a `String`, escaped exactly as serde_json
//! escapes them (access-log lines, FUNCTION proxy events).

/// `s` as a JSON string literal.
pub(crate) fn quoted(out: &mut String, s: &str) {
    out.push('"');
    escaped(out, s);
    out.push('"');
}

/// `s` escaped for the inside of a JSON string literal, as serde_json escapes it.
///
/// Runs without anything to escape (most header values, paths, ids) are skipped eight
/// bytes at a time and copied in one piece.
pub(crate) fn escaped(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes
            .get(i..i + 8)
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            && !any_to_escape(u64::from_le_bytes(word))
        {
            i += 8;
            continue;
        }
        let b = bytes[i];
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => {
                i += 1;
                continue;
            }
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
        i += 1;
        start = i;
    }
    out.push_str(&s[start..]);
}

/// Whether `s` holds a byte that JSON escapes (a control byte, `"` or `\`).
pub(crate) fn needs_escaping(s: &[u8]) -> bool {
    let mut words = s.chunks_exact(8);
    words
        .by_ref()
        .filter_map(|w| <[u8; 8]>::try_from(w).ok())
        .any(|w| any_to_escape(u64::from_le_bytes(w)))
        || words
            .remainder()
            .iter()
            .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Whether any of the eight bytes of `w` is a control byte, `"` or `\` (the classic
/// "has a byte less than n / equal to n" word tricks: exact about whether there is one).
const fn any_to_escape(w: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let q = w ^ (ONES * b'"' as u64);
    let quote = q.wrapping_sub(ONES) & !q;
    let b = w ^ (ONES * b'\\' as u64);
    let backslash = b.wrapping_sub(ONES) & !b;
    (control | quote | backslash) & HIGH != 0
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
            "a long run without anything to escape, then \"one\" at the end\n",
            "0123456789abcdef\u{1f}0123456789abcdef\\",
            "ünïcödé ✓ ünïcödé ✓ \u{7f}\u{80}\u{9f} \u{ff}\t",
        ] {
            let mut out = String::new();
            super::quoted(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).expect("json"), "{s:?}");
        }
    }

    #[test]
    fn every_byte_at_every_offset_is_escaped_like_serde_json() {
        // Each ASCII byte and a few multi-byte characters, at every position of a
        // 17-byte string (so in either half of a word and in the tail).
        let mut specials: Vec<String> = (0u8..0x80).map(|b| char::from(b).to_string()).collect();
        specials.extend(["é", "✓", "\u{80}", "\u{10ffff}"].map(str::to_owned));
        for special in &specials {
            for at in 0..17 {
                let s = format!("{}{special}{}", "x".repeat(at), "y".repeat(16 - at));
                let mut out = String::new();
                super::quoted(&mut out, &s);
                assert_eq!(out, serde_json::to_string(&s).expect("json"), "{s:?}");
                let plain = out.len() == s.len() + 2;
                assert_eq!(super::needs_escaping(s.as_bytes()), !plain, "{s:?}");
            }
        }
    }
}
