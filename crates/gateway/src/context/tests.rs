//! Unit tests of the request context's `$context` values and time formats.

#[test]
fn iso_time_is_utc_with_milliseconds() {
    let mut out = String::new();
    super::iso_time(&mut out, 1_764_300_245_007);
    assert_eq!(out, "2025-11-28T03:24:05.007Z");
    out.clear();
    super::iso_time(&mut out, 951_782_400_000);
    assert_eq!(out, "2000-02-29T00:00:00.000Z");
}

/// `$context.error.messageString` is the message as a JSON string: a message with
/// quotes or a line break still makes a valid JSON body where `error.message` would not.
#[test]
fn error_message_string_is_a_json_string() {
    let (parts, ()) = http::Request::get("/p")
        .body(())
        .expect("request")
        .into_parts();
    let peer = super::Peer::new("127.0.0.1:4000".parse().expect("addr"));
    let mut ctx = super::RequestCtx::new(parts, crate::body::Body::Empty, &peer, "h".into());
    let message = "say \"no\"\nthen stop";
    ctx.error = Some(("ACCESS_DENIED", message.to_owned()));
    let mut out = String::new();
    ctx.context_value("error.messageString", &mut out);
    assert_eq!(
        serde_json::from_str::<String>(&out).expect("a JSON string"),
        message
    );
    out.clear();
    ctx.context_value("error.message", &mut out);
    assert_eq!(out, message);
}

#[test]
fn clf_time_is_utc_common_log_format() {
    let mut s = String::new();
    super::clf_time(&mut s, 1_795_619_045); // 2026-11-25T15:04:05Z
    assert_eq!(s, "25/Nov/2026:15:04:05 +0000");
    s.clear();
    super::clf_time(&mut s, 951_782_400); // 2000-02-29T00:00:00Z
    assert_eq!(s, "29/Feb/2000:00:00:00 +0000");
}
