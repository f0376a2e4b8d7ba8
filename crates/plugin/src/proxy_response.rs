//! What a `function` answers, read and checked: a proxy response (`statusCode`,
//! `headers`, `multiValueHeaders`, `body`, `isBase64Encoded`, `cookies`) or, for payload
//! 2.0, any other JSON standing for a 200 body.
//!
//! The answer is read straight into a [`ProxyResponse`], not into a `serde_json::Value`
//! tree: unknown fields are skipped without allocating, and the header objects are read
//! into lists. Their types only matter when the object has a `statusCode` (API Gateway
//! answers 502 "Malformed Lambda proxy response" then; without one, payload 2.0 sends
//! the object as the body), so they are kept as raw JSON until that is known.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// A function's answer, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyAnswer {
    /// An object with a valid `statusCode`.
    Response(ProxyResponse),
    /// Any other JSON: payload 2.0 sends it as a 200 `application/json` body; payload
    /// 1.0 refuses it (no `statusCode`).
    Other,
}

/// A proxy response's fields, as the gateway turns them into an HTTP response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProxyResponse {
    /// 100–599.
    pub status_code: u16,
    /// `headers` in the order written; a number, boolean or `null` value is its JSON
    /// text.
    pub headers: Vec<(String, String)>,
    /// `multiValueHeaders` in the order written; any JSON in a list that is not a string
    /// is its JSON text.
    pub multi_value_headers: Vec<(String, Vec<String>)>,
    /// `body` (`null` or missing: none).
    pub body: Option<String>,
    /// `isBase64Encoded` is `true`.
    pub is_base64_encoded: bool,
    /// `cookies` when it is a list (payload 2.0 sends them as `set-cookie`), each as
    /// text like a `multiValueHeaders` item; anything else there is ignored.
    pub cookies: Vec<String>,
}

/// Read and check `json`. The error says what is malformed.
pub fn parse(json: &str) -> Result<ProxyAnswer, String> {
    let not_json = |e: serde_json::Error| format!("malformed proxy response: not JSON ({e})");
    if !json.trim_start().starts_with('{') {
        serde_json::from_str::<IgnoredAny>(json).map_err(not_json)?;
        return Ok(ProxyAnswer::Other);
    }
    let raw: Raw<'_> = serde_json::from_str(json).map_err(not_json)?;
    let Some(status) = raw.status_code else {
        return Ok(ProxyAnswer::Other);
    };
    // An integer, as the gateway reads it (a string such as "200" is refused).
    let status_code = match &status {
        Value::Number(n) => n
            .as_u64()
            .filter(|s| (100..=599).contains(s))
            .and_then(|s| u16::try_from(s).ok()),
        _ => None,
    }
    .ok_or_else(|| format!("malformed proxy response: statusCode {status}"))?;
    let bad = |field: &str| format!("malformed proxy response: `{field}` has the wrong type");
    let headers = match raw.headers {
        None => Vec::new(),
        Some(h) => serde_json::from_str::<Option<Pairs<Scalar>>>(h.get())
            .map_err(|_| bad("headers"))?
            .map_or_else(Vec::new, |p| {
                p.0.into_iter().map(|(k, v)| (k, v.0)).collect()
            }),
    };
    let multi_value_headers = match raw.multi_value_headers {
        None => Vec::new(),
        Some(h) => serde_json::from_str::<Option<Pairs<Vec<Text>>>>(h.get())
            .map_err(|_| bad("multiValueHeaders"))?
            .map_or_else(Vec::new, |p| {
                let texts = |list: Vec<Text>| list.into_iter().map(|t| t.0).collect();
                p.0.into_iter().map(|(k, v)| (k, texts(v))).collect()
            }),
    };
    let body = match raw.body {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(bad("body")),
    };
    let is_base64_encoded = match raw.is_base64_encoded {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => return Err(bad("isBase64Encoded")),
    };
    let cookies = raw
        .cookies
        .and_then(|c| serde_json::from_str::<Vec<Text>>(c.get()).ok())
        .map_or_else(Vec::new, |list| list.into_iter().map(|t| t.0).collect());
    Ok(ProxyAnswer::Response(ProxyResponse {
        status_code,
        headers,
        multi_value_headers,
        body,
        is_base64_encoded,
        cookies,
    }))
}

/// An object's fields as read (a field given twice: the last one). `Value`s for the
/// scalars (a `null` `statusCode` is present, and wrong); raw JSON for the rest.
#[derive(Default)]
struct Raw<'a> {
    status_code: Option<Value>,
    headers: Option<&'a RawValue>,
    multi_value_headers: Option<&'a RawValue>,
    body: Option<Value>,
    is_base64_encoded: Option<Value>,
    cookies: Option<&'a RawValue>,
}

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Raw<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'a>, A::Error> {
                let mut raw = Raw::default();
                while let Some(key) = map.next_key::<Key>()? {
                    match key {
                        Key::StatusCode => raw.status_code = Some(map.next_value()?),
                        Key::Headers => raw.headers = Some(map.next_value()?),
                        Key::MultiValueHeaders => raw.multi_value_headers = Some(map.next_value()?),
                        Key::Body => raw.body = Some(map.next_value()?),
                        Key::IsBase64Encoded => raw.is_base64_encoded = Some(map.next_value()?),
                        Key::Cookies => raw.cookies = Some(map.next_value()?),
                        Key::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(raw)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The fields of a proxy response, by name; the rest are skipped.
enum Key {
    StatusCode,
    Headers,
    MultiValueHeaders,
    Body,
    IsBase64Encoded,
    Cookies,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(match name {
                    "statusCode" => Key::StatusCode,
                    "headers" => Key::Headers,
                    "multiValueHeaders" => Key::MultiValueHeaders,
                    "body" => Key::Body,
                    "isBase64Encoded" => Key::IsBase64Encoded,
                    "cookies" => Key::Cookies,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// An object read as a list of name and value, in order.
struct Pairs<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Pairs<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Pairs<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Pairs<T>, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(4).min(64));
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(Pairs(pairs))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Any JSON value as text: a string as it is, anything else as its compact JSON.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Text(match Value::deserialize(d)? {
            Value::String(s) => s,
            other => other.to_string(),
        }))
    }
}

/// A `headers` value: like [`Text`], but a list or an object is refused.
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Scalar(s)),
            Value::Array(_) | Value::Object(_) => Err(de::Error::custom("a list or an object")),
            other => Ok(Scalar(other.to_string())),
        }
    }
}

#[cfg(test)]
mod tests;
