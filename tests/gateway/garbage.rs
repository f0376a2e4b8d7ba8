//! No request input panics the gateway or takes it down: thousands of mangled requests,
//! each a mutation of one that reaches a real feature (routing with parameters, request
//! validation, parameter mapping, MOCK templates, API keys, the stage cache, CORS, the
//! proxy), sent raw over TCP to an in-process gateway. Every answer must be HTTP/1.1
//! with a status that is not an internal error, no thread may panic, and afterwards the
//! node still serves every original request.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{seeded, support};

const REST: &str = "mess.execute-api.localhost";
const HTTP: &str = "lean.execute-api.localhost";

fn apis(upstream: &str) -> [String; 3] {
    let rest = format!(
        r#"
version = 1
id = "mess"
name = "Mess"
type = "REST"
[[stages]]
name = "prod"
variables = {{ up = "{upstream}", who = "prod" }}
[[stages]]
name = "cached"
variables = {{ up = "{upstream}", who = "cached" }}
cache = {{ capacity_bytes = 1048576, ttl_seconds = 300 }}
[[models]]
name = "Pet"
schema = '{{"type": "object", "required": ["name"], "properties": {{"name": {{"type": "string"}}}}}}'
[[routes]]
key = "GET /mock/{{id}}"
integration = {{ type = "MOCK", status = 200, headers = {{ "x-id" = "$context.path" }}, body = '{{"id": "$input.params(\"id\")", "stage": "${{stageVariables.who}}", "q": "$input.params(\"q\")"}}' }}
[[routes]]
key = "POST /pets"
request_model = "Pet"
request_parameters = {{ "method.request.header.x-tenant" = true }}
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.up}}/pets" }}
[[routes]]
key = "GET /pets/{{petId}}"
request_parameters = {{ "method.request.querystring.page" = false }}
[routes.integration]
type = "HTTP"
uri = "${{stageVariables.up}}/pets/{{petId}}"
request_parameters = {{ "integration.request.querystring.page" = "method.request.querystring.page", "integration.request.header.x-stage" = "context.stage" }}
response_parameters = {{ "method.response.header.x-version" = "integration.response.header.x-version" }}
[[routes]]
key = "GET /keyed"
api_key_required = true
integration = {{ type = "MOCK" }}
[[routes]]
key = "ANY /up/{{proxy+}}"
integration = {{ type = "HTTP_PROXY", uri = "${{stageVariables.up}}/{{proxy}}" }}
"#
    );
    let http = format!(
        r#"
version = 1
id = "lean"
name = "Lean"
type = "HTTP"
cors = {{ allow_origins = ["https://shop.example"], allow_methods = ["GET", "POST"], allow_headers = ["content-type"], max_age = 60 }}
[[stages]]
name = "$default"
[[plugins]]
name = "shop"
file = "shopping_list_function.wasm"
world = "function"
[[routes]]
key = "GET /fn/{{name}}"
integration = {{ type = "FUNCTION", plugin = "shop" }}
[[routes]]
key = "GET /items/{{id}}"
integration = {{ type = "HTTP_PROXY", uri = "{upstream}/items/{{id}}" }}
[[routes]]
key = "$default"
integration = {{ type = "MOCK", status = 200, body = "default" }}
"#
    );
    // Plugins see what the client sent: the proxy event of a FUNCTION (payload 1.0
    // here, 2.0 on the HTTP API), a REQUEST authorizer's fields, a mapper's request.
    let plug = r#"
version = 1
id = "plug"
name = "Plug"
type = "REST"
[[stages]]
name = "prod"
variables = { env = "prod" }
[[plugins]]
name = "shop"
file = "shopping_list_function.wasm"
world = "function"
[[plugins]]
name = "echo"
file = "echo_authorizer.wasm"
world = "authorizer"
[[plugins]]
name = "list-mapper"
file = "query_to_json_mapper.wasm"
world = "mapper"
[[authorizers]]
name = "echo"
type = "REQUEST"
plugin = "echo"
identity_sources = ["method.request.querystring.tenant"]
result_ttl_seconds = 0
[[routes]]
key = "GET /fn/{name}"
integration = { type = "FUNCTION", plugin = "shop" }
[[routes]]
key = "GET /authz/{id}"
authorizer = "echo"
integration = { type = "MOCK", body = "$context.authorizer.identity|$context.authorizer.query|$context.authorizer.path-parameters" }
[[routes]]
key = "GET /mapped"
mapper = "list-mapper"
integration = { type = "FUNCTION", plugin = "shop" }
"#
    .to_owned();
    [rest, http, plug]
}

const PLUG: &str = "plug.execute-api.localhost";

/// Requests that reach each feature, with the status each gets untouched.
fn seeds() -> Vec<(String, &'static str)> {
    let json = "content-type: application/json\r\n";
    vec![
        (
            format!("GET /prod/mock/7?q=a%20b HTTP/1.1\r\nHost: {REST}\r\n\r\n"),
            "200",
        ),
        (
            format!(
                "POST /prod/pets HTTP/1.1\r\nHost: {REST}\r\nx-tenant: t1\r\n{json}content-length: 14\r\n\r\n{{\"name\":\"Rex\"}}"
            ),
            "200",
        ),
        (
            format!("GET /prod/pets/42?page=2 HTTP/1.1\r\nHost: {REST}\r\n\r\n"),
            "200",
        ),
        (
            format!("GET /cached/pets/42?page=3 HTTP/1.1\r\nHost: {REST}\r\n\r\n"),
            "200",
        ),
        (
            format!("GET /prod/keyed HTTP/1.1\r\nHost: {REST}\r\nx-api-key: nope\r\n\r\n"),
            "403",
        ),
        (
            format!(
                "DELETE /prod/up/a/b%2Fc?x=1&x=2 HTTP/1.1\r\nHost: {REST}\r\nCookie: a=1\r\n\r\n"
            ),
            "200",
        ),
        (
            format!(
                "OPTIONS /items/9 HTTP/1.1\r\nHost: {HTTP}\r\nOrigin: https://shop.example\r\nAccess-Control-Request-Method: POST\r\n\r\n"
            ),
            "204",
        ),
        (
            format!(
                "GET /items/9 HTTP/1.1\r\nHost: {HTTP}\r\nOrigin: https://shop.example\r\n\r\n"
            ),
            "200",
        ),
        (
            format!("PATCH /what/ever HTTP/1.1\r\nHost: {HTTP}\r\n\r\n"),
            "200",
        ),
        (
            format!(
                "GET /fn/weekly?item=milk,tea%2C&x=%C3%A9 HTTP/1.1\r\nHost: {HTTP}\r\nUser-Agent: t/1 \"q\"\r\nCookie: a=1; b=2\r\n\r\n"
            ),
            "200",
        ),
        (
            format!(
                "GET /prod/fn/daily?item=milk&item=eggs HTTP/1.1\r\nHost: {PLUG}\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
            ),
            "200",
        ),
        (
            format!(
                "GET /prod/authz/caf%C3%A9?tenant=acme+corp&q=a%20b HTTP/1.1\r\nHost: {PLUG}\r\n\r\n"
            ),
            "200",
        ),
        (
            format!("GET /prod/mapped?item=tea&item=jam HTTP/1.1\r\nHost: {PLUG}\r\n\r\n"),
            "200",
        ),
        // Targets that name no path: an authority, `*`.
        (
            format!("PATCH whatever HTTP/1.1\r\nHost: {HTTP}\r\n\r\n"),
            "400",
        ),
        (format!("OPTIONS * HTTP/1.1\r\nHost: {REST}\r\n\r\n"), "400"),
    ]
}

const BITS: [&[u8]; 16] = [
    b"%", b"%zz", b"%00", b"%c3%28", b"/..", b"{", b"}", b"$", b"\"", b"\\", b"\r\n", b": ",
    b"\x00", b"\xff", b"\xc3", b"?&=&",
];

/// Half the time, awkward sequences put inside the request target (the request stays a
/// request: what it reaches has to cope); else [`mangle_bytes`].
fn mangle(seed: &[u8], rng: &mut seeded::Rng) -> Vec<u8> {
    let mut spaces = seed.iter().enumerate().filter(|(_, b)| **b == b' ');
    let target = match (spaces.next(), spaces.next()) {
        (Some((start, _)), Some((end, _))) => start + 2..end,
        _ => return mangle_bytes(seed, rng),
    };
    if rng.below(2) == 0 || target.is_empty() {
        return mangle_bytes(seed, rng);
    }
    let mut bytes = seed.to_vec();
    let mut end = target.end;
    for _ in 0..=rng.below(3) {
        let at = target.start + rng.below(end - target.start);
        let bit: &[u8] = match rng.below(3) {
            0 => b"%2F",
            1 => b"=",
            _ => BITS[rng.below(BITS.len())],
        };
        bytes.splice(at..at, bit.iter().copied());
        end += bit.len();
    }
    bytes
}

/// One to four edits: a byte replaced, an awkward byte or sequence inserted, a byte
/// removed, a header line repeated, or the tail cut off.
pub(crate) fn mangle_bytes(seed: &[u8], rng: &mut seeded::Rng) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..=rng.below(4) {
        if bytes.len() < 2 {
            break;
        }
        let at = rng.below(bytes.len());
        match rng.below(5) {
            0 => bytes[at] = rng.below(256) as u8,
            1 => {
                let bit = BITS[rng.below(BITS.len())];
                bytes.splice(at..at, bit.iter().copied());
            }
            2 => {
                bytes.remove(at);
            }
            3 => {
                seeded::repeat_line(&mut bytes, at);
            }
            _ => bytes.truncate(at.max(1)),
        }
    }
    bytes
}

/// Send `request`, close the sending side, read the answer until the gateway closes.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    // The gateway may answer and close before reading all of a mangled request.
    let _ = s.write_all(request).await;
    let _ = s.shutdown().await;
    let mut answer = Vec::new();
    // A reset after an answer is fine: what arrived before it counts.
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .expect("the gateway answers or closes within 10 s");
    answer
}

/// The status code of an HTTP/1.1 answer.
fn status(answer: &[u8]) -> Option<&str> {
    let line = answer.strip_prefix(b"HTTP/1.1 ")?;
    std::str::from_utf8(line.get(..3)?).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mangled_requests_get_answers_and_never_a_panic() {
    let panics = seeded::count_panics();

    let up = support::upstream().await;
    let [rest, http, plug] = apis(&up.url());
    let gw = support::gateway_with_plugins(&[&rest, &http, &plug]).await;
    let seeds = seeds();
    for (request, want) in &seeds {
        let answer = exchange(gw.addr, request.as_bytes()).await;
        assert_eq!(
            status(&answer),
            Some(*want),
            "{request}\n{}",
            String::from_utf8_lossy(&answer)
        );
    }

    let mut rng = seeded::Rng(0x9e37_79b9_7f4a_7c15);
    let mut answered = 0;
    for round in 0..2_400 {
        let (seed, _) = &seeds[round % seeds.len()];
        let request = mangle(seed.as_bytes(), &mut rng);
        let answer = exchange(gw.addr, &request).await;
        if answer.is_empty() {
            continue; // Closed without a word: allowed for what is not a request at all.
        }
        answered += 1;
        let code = status(&answer).unwrap_or_else(|| {
            panic!(
                "round {round}: not an HTTP/1.1 answer to {:?}: {:?}",
                String::from_utf8_lossy(&request),
                String::from_utf8_lossy(&answer)
            )
        });
        // Not an internal error, and not a plugin handed something it cannot read (a
        // proxy event that is not JSON would be a 502 from the function).
        assert!(
            !code.starts_with('5'),
            "round {round}: {code} for {:?}: {}",
            String::from_utf8_lossy(&request),
            String::from_utf8_lossy(&answer)
        );
    }
    assert!(
        answered > 1_200,
        "most mangled requests get an answer: {answered}"
    );
    assert_eq!(
        panics.load(Ordering::SeqCst),
        0,
        "a request panicked a thread"
    );

    for (request, want) in &seeds {
        let answer = exchange(gw.addr, request.as_bytes()).await;
        assert_eq!(
            status(&answer),
            Some(*want),
            "still served after the mess: {request}"
        );
    }
}

/// A node's config is input too: mangled API definitions (the shipped PetStore, the
/// benchmark API and the two above) are refused with their place and a message, by the
/// model's checks or by the gateway's compile (route keys, templates: the second half of
/// `causeway validate`), or they compile. Never a panic.
#[test]
fn mangled_api_definitions_are_refused_with_their_place_or_compile() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).expect(rel);
    let [rest, http, _] = apis("http://127.0.0.1:9");
    let seeds = [
        read("edge-config/apis/petstore.toml"),
        read("benches/config/apis/bench.toml"),
        rest,
        http.replace("FUNCTION\", plugin = \"shop\"", "MOCK\""),
    ];
    let mut rng = seeded::Rng(0x5eed_70a1);
    let (mut refused, mut compiled) = (0, 0);
    for round in 0..4_000 {
        let seed = &seeds[round % seeds.len()];
        let text = String::from_utf8_lossy(&mangle_toml(seed.as_bytes(), &mut rng)).into_owned();
        match causeway_model::parse_api("mangled.toml", &text) {
            Err(errors) => {
                refused += 1;
                assert!(
                    !errors.0.is_empty(),
                    "round {round}: refused without a reason"
                );
                for e in &errors.0 {
                    assert_eq!(e.file, "mangled.toml", "round {round}: {e}");
                    assert!(!e.message.is_empty(), "round {round}: {e}");
                }
            }
            Ok(api) => {
                let deployment = causeway_model::Deployment::snapshot(&api, "fuzz", 0);
                match causeway_gateway::compile(&deployment, &Default::default()) {
                    Ok(_) => compiled += 1,
                    Err(errors) => {
                        refused += 1;
                        assert!(
                            !errors.0.is_empty(),
                            "round {round}: refused without a reason"
                        );
                        for e in &errors.0 {
                            assert!(
                                !e.field.is_empty() && !e.message.is_empty(),
                                "round {round}: {e}"
                            );
                        }
                    }
                }
            }
        }
    }
    assert!(
        refused > 1_000 && compiled > 200,
        "refused {refused}, compiled {compiled}"
    );
}

/// One to three edits of a TOML text: a byte replaced by or inserted as a TOML-significant
/// one, a byte removed, or a line repeated.
fn mangle_toml(seed: &[u8], rng: &mut seeded::Rng) -> Vec<u8> {
    const BITS: &[u8] = b"[]{}=\"'#.,\n/$*+0-9x_ \\";
    let mut bytes = seed.to_vec();
    for _ in 0..=rng.below(3) {
        let at = rng.below(bytes.len().max(1));
        let bit = BITS[rng.below(BITS.len())];
        match rng.below(4) {
            0 if at < bytes.len() => bytes[at] = bit,
            1 => bytes.insert(at.min(bytes.len()), bit),
            2 if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {
                seeded::repeat_line(&mut bytes, at);
            }
        }
    }
    bytes
}
