//! End-to-end tests of the plugin host with real components: the Rust guests built by
//! `build.rs` from `plugins/`, and the JavaScript and Python guests built by
//! `plugins/build-polyglot.sh`. No mocks.

mod support;

mod authorizer;
mod cache;
mod failures;
mod function;
mod http;
mod lent;
mod logs;
mod mapper;
mod polyglot;
mod reuse;
mod slots;
mod versions;
mod warmup;

/// Every call future can move between tokio worker threads.
#[test]
fn call_futures_are_send() {
    fn send<T: Send>(_: T) {}
    let plugin = support::load(
        "send-check",
        env!("CAUSEWAY_FIXTURE_TRAP"),
        causeway_plugin::World::Authorizer,
        causeway_plugin::PluginOptions::new(causeway_plugin::World::Authorizer),
    );
    let request = support::token_request("");
    let http_request = causeway_plugin::HttpRequest {
        method: "GET".to_owned(),
        path: "/".to_owned(),
        query: Vec::new(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let response = causeway_plugin::HttpResponse {
        status: 200,
        headers: Vec::new(),
        body: Vec::new(),
    };
    send(plugin.authorize(request));
    send(plugin.map_request(&http_request));
    send(plugin.map_response(&response));
    send(plugin.invoke_function("{}"));
    send(plugin.handle_http(::http::Request::new(bytes::Bytes::new())));
    send(plugin.check_report());
}
