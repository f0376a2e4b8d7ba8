//! Route selection: which route a message goes to, from the API's route selection
//! expression (`$request.body.action`: the `action` field of a JSON message).

use serde_json::Value;

/// The route key `message` selects: the string (or number, or boolean, as its JSON text)
/// at `path` in the message's JSON, when `has_route` knows that key; otherwise `$default`.
/// A message that is not JSON, or binary, goes to `$default`.
pub(crate) fn route_key<'m>(
    path: &[String],
    message: Option<&'m str>,
    has_route: impl Fn(&str) -> bool,
) -> std::borrow::Cow<'m, str> {
    let default = std::borrow::Cow::Borrowed("$default");
    let Some(text) = message else {
        return default;
    };
    let Ok(json) = serde_json::from_str::<Value>(text) else {
        return default;
    };
    let mut at = &json;
    for seg in path {
        match at.get(seg) {
            Some(v) => at = v,
            None => return default,
        }
    }
    let key = match at {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return default,
    };
    // `$connect` and friends are not chosen by a message.
    if !key.starts_with('$') && has_route(&key) {
        std::borrow::Cow::Owned(key)
    } else {
        default
    }
}

#[cfg(test)]
mod tests {
    use super::route_key;

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_field_names_a_known_route_or_the_message_goes_to_default() {
        let known = |k: &str| k == "echo" || k == "7";
        let action = path(&["action"]);
        assert_eq!(
            route_key(&action, Some(r#"{"action":"echo","x":1}"#), known),
            "echo"
        );
        assert_eq!(
            route_key(&action, Some(r#"{"action":"nope"}"#), known),
            "$default"
        );
        assert_eq!(route_key(&action, Some(r#"{"action":7}"#), known), "7");
        assert_eq!(
            route_key(&action, Some(r#"{"other":"echo"}"#), known),
            "$default"
        );
        assert_eq!(route_key(&action, Some("echo"), known), "$default");
        assert_eq!(
            route_key(&action, Some(r#"{"action":{"a":1}}"#), known),
            "$default"
        );
        assert_eq!(route_key(&action, None, known), "$default");
        // A message cannot pick the lifecycle routes.
        let lifecycle = |k: &str| k == "$connect";
        assert_eq!(
            route_key(&action, Some(r#"{"action":"$connect"}"#), lifecycle),
            "$default"
        );
    }

    #[test]
    fn a_nested_field_is_followed() {
        let nested = path(&["meta", "type"]);
        let known = |k: &str| k == "join";
        assert_eq!(
            route_key(&nested, Some(r#"{"meta":{"type":"join"}}"#), known),
            "join"
        );
        assert_eq!(
            route_key(&nested, Some(r#"{"meta":"join"}"#), known),
            "$default"
        );
    }
}
