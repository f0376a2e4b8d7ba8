//! A minimal compact-JSON writer into a `String`, for the proxy event.

use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::Value;

use crate::json::{escaped, quoted};

/// Compact JSON written into a `String`. The caller writes keys and values in order;
/// commas are placed by looking at the last byte written (none after `{`, `[` or `:`).
pub(super) struct Json {
    out: String,
    /// Where [`Json::str_with`] has a string written before escaping it into `out`.
    scratch: String,
}

impl Json {
    pub(super) fn with_capacity(n: usize) -> Json {
        Json {
            out: String::with_capacity(n),
            scratch: String::with_capacity(64),
        }
    }

    pub(super) fn finish(self) -> String {
        self.out
    }

    fn sep(&mut self) {
        if !matches!(self.out.as_bytes().last(), None | Some(b'{' | b'[' | b':')) {
            self.out.push(',');
        }
    }

    /// Open an object (`'{'`) or array (`'['`).
    pub(super) fn begin(&mut self, c: char) {
        self.sep();
        self.out.push(c);
    }

    /// Close an object (`'}'`) or array (`']'`).
    pub(super) fn end(&mut self, c: char) {
        self.out.push(c);
    }

    /// A member name of the event's own (a literal: nothing to escape, written as it is).
    pub(super) fn key(&mut self, k: &'static str) {
        debug_assert!(!crate::json::needs_escaping(k.as_bytes()), "{k}");
        self.sep();
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
    }

    /// A member name from the request or the configuration (a header, a parameter, a
    /// claim), escaped.
    pub(super) fn name(&mut self, k: &str) {
        self.sep();
        quoted(&mut self.out, k);
        self.out.push(':');
    }

    pub(super) fn str(&mut self, s: &str) {
        self.sep();
        quoted(&mut self.out, s);
    }

    /// A string that `write` appends to the (empty) buffer it is given.
    pub(super) fn str_with(&mut self, write: impl FnOnce(&mut String)) {
        self.scratch.clear();
        write(&mut self.scratch);
        self.sep();
        quoted(&mut self.out, &self.scratch);
    }

    /// One string: `parts` joined with `,`.
    pub(super) fn joined<S: AsRef<str>>(&mut self, parts: impl Iterator<Item = S>) {
        self.sep();
        self.out.push('"');
        for (i, p) in parts.enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            escaped(&mut self.out, p.as_ref());
        }
        self.out.push('"');
    }

    /// `bytes` in standard base64, as a string.
    pub(super) fn base64(&mut self, bytes: &[u8]) {
        self.sep();
        self.out.push('"');
        base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut self.out);
        self.out.push('"');
    }

    pub(super) fn null(&mut self) {
        self.sep();
        self.out.push_str("null");
    }

    pub(super) fn bool(&mut self, b: bool) {
        self.sep();
        self.out.push_str(if b { "true" } else { "false" });
    }

    pub(super) fn u64(&mut self, n: u64) {
        self.sep();
        self.out.push_str(itoa::Buffer::new().format(n));
    }

    /// Any JSON value.
    pub(super) fn value(&mut self, v: &Value) {
        self.sep();
        // `Value`'s `Display` is its compact JSON; writing to a `String` cannot fail.
        let _ = write!(self.out, "{v}");
    }

    /// `"k":"v"`, `k` a literal.
    pub(super) fn field(&mut self, k: &'static str, v: &str) {
        self.key(k);
        self.str(v);
    }

    /// `"k":"v"`, `k` from the request or the configuration.
    pub(super) fn entry(&mut self, k: &str, v: &str) {
        self.name(k);
        self.str(v);
    }

    /// An array of strings.
    pub(super) fn strs<S: AsRef<str>>(&mut self, items: impl IntoIterator<Item = S>) {
        self.begin('[');
        for s in items {
            self.str(s.as_ref());
        }
        self.end(']');
    }

    /// An object of string values.
    pub(super) fn strings<K, V>(&mut self, entries: impl IntoIterator<Item = (K, V)>)
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        self.begin('{');
        for (k, v) in entries {
            self.entry(k.as_ref(), v.as_ref());
        }
        self.end('}');
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Json;

    #[test]
    fn commas_go_between_members_and_elements() {
        let mut j = Json::with_capacity(0);
        j.begin('{');
        j.key("a");
        j.begin('[');
        j.u64(1);
        j.null();
        j.begin('{');
        j.end('}');
        j.begin('[');
        j.end(']');
        j.joined(["x", "y\""].into_iter());
        j.end(']');
        j.name("a\"b");
        j.u64(2);
        j.entry("c\n", "d");
        j.field("b", "c");
        j.key("d");
        j.value(&json!({ "e": [1.5, true] }));
        j.key("f");
        j.strings([("g", "h"), ("i", "j")]);
        j.key("k");
        j.base64(b"hi");
        j.key("l");
        j.str_with(|s| s.push_str("m\n"));
        j.key("n");
        j.bool(false);
        j.key("o");
        j.strs(["p", "q"]);
        j.end('}');
        assert_eq!(
            j.finish(),
            r#"{"a":[1,null,{},[],"x,y\""],"a\"b":2,"c\n":"d","b":"c","d":{"e":[1.5,true]},"f":{"g":"h","i":"j"},"k":"aGk=","l":"m\n","n":false,"o":["p","q"]}"#
        );
    }
}
