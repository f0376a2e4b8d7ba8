#!/usr/bin/env bash
# Node start with 10 cached JavaScript/Python plugins: how long from `causeway serve`
# until a request through each of the 10 plugins has succeeded.
#
#   bash benches/plugin_start.sh            # ROUNDS=3 measured starts after one priming start
#
# 1. builds `causeway` (release; SKIP_BUILD=1 to reuse target/release/causeway) and the
#    polyglot authorizers (plugins/build-polyglot.sh);
# 2. writes 10 distinct components (5 JavaScript, 5 Python: the same authorizers, each with
#    a custom section naming it, so each has its own content hash and cached artifact) and a
#    REST API with one `instance = "reuse"` authorizer per component, each guarding its own
#    MOCK route;
# 3. starts the node once to compile and cache the 10 artifacts, stops it (SIGTERM);
# 4. ROUNDS times: starts the node on the primed data dir and polls the 10 routes (each a
#    new connection, signed token) until every one has answered 200; prints the time to the
#    "listening" line and to the 10th success, and the median.
#
# Knobs: ROUNDS (3), SKIP_BUILD, CAUSEWAY_BIN, KEEP_TMP=1.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${CAUSEWAY_BIN:-$root/target/release/causeway}"
if [ -z "${SKIP_BUILD:-}" ] && [ -z "${CAUSEWAY_BIN:-}" ]; then
  (cd "$root" && cargo build --release --bin causeway)
fi
bash "$root/plugins/build-polyglot.sh" >/dev/null
tmp="$(mktemp -d)"
if [ -z "${KEEP_TMP:-}" ]; then trap 'rm -rf "$tmp"' EXIT; else echo "temp dir: $tmp"; fi

exec python3 - "$bin" "$root/plugins/target/polyglot" "$tmp" "${ROUNDS:-3}" <<'PY'
import base64, hashlib, hmac, os, signal, socket, statistics, subprocess, sys, time

binary, polyglot, tmp, rounds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
N = 10

def leb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)

def with_custom_section(wasm, name, payload):
    body = leb(len(name)) + name + payload
    return wasm + b"\x00" + leb(len(body)) + body

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

os.makedirs(f"{tmp}/apis")
plugins, authorizers, routes = [], [], []
for i in range(N):
    src = "js-authorizer.wasm" if i % 2 == 0 else "python-authorizer.wasm"
    wasm = open(f"{polyglot}/{src}", "rb").read()
    open(f"{tmp}/p{i}.wasm", "wb").write(with_custom_section(wasm, b"causeway-bench", f"plugin {i}".encode()))
    plugins.append(f'[[plugins]]\nname = "p{i}"\nfile = "p{i}.wasm"\nworld = "authorizer"\n'
                   f'instance = "reuse"\nmemory_mb = 256\nconfig = {{ secret = "s3cret" }}\n')
    authorizers.append(f'[[authorizers]]\nname = "a{i}"\ntype = "TOKEN"\nplugin = "p{i}"\n'
                       f'identity_sources = ["method.request.header.Authorization"]\n')
    routes.append(f'[[routes]]\nkey = "GET /r{i}"\nauthorizer = "a{i}"\n'
                  f'integration = {{ type = "MOCK", body = "r{i}" }}\n')
api = 'version = 1\nid = "start"\nname = "Start"\ntype = "REST"\n[[stages]]\nname = "prod"\n'
open(f"{tmp}/apis/start.toml", "w").write(api + "".join(plugins + authorizers + routes))
port, admin = free_port(), free_port()
open(f"{tmp}/causeway.toml", "w").write(
    f'version = 1\n[node]\nlisten = "127.0.0.1:{port}"\ndata_dir = "data"\n'
    f'[admin]\nlisten = "127.0.0.1:{admin}"\ntoken = "bench-token"\n')

payload = base64.urlsafe_b64encode(b'{"sub":"bench","exp":4102444800}').rstrip(b"=")
sig = base64.urlsafe_b64encode(hmac.new(b"s3cret", payload, hashlib.sha256).digest()).rstrip(b"=")
token = (payload + b"." + sig).decode()

def ok(i):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(f"GET /prod/r{i} HTTP/1.1\r\nHost: start.execute-api.localhost\r\n"
                      f"Authorization: Bearer {token}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return data.startswith(b"HTTP/1.1 200") and data.endswith(f"r{i}".encode())
    except OSError:
        return False

def start(limit):
    t0 = time.monotonic()
    node = subprocess.Popen([binary, "serve", "--config", tmp], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "RUST_LOG": "warn"}, text=True)
    listening = None
    for line in node.stderr:
        if "causeway listening on" in line:
            listening = time.monotonic() - t0
            break
    if listening is None:
        sys.exit(f"the node exited before listening ({node.wait()})")
    todo = set(range(N))
    while todo and time.monotonic() - t0 < limit:
        todo = {i for i in todo if not ok(i)}
        if todo:
            time.sleep(0.002)
    ready = time.monotonic() - t0
    node.send_signal(signal.SIGTERM)
    node.wait(timeout=30)
    if todo:
        sys.exit(f"routes {sorted(todo)} never answered 200 within {limit} s")
    return listening, ready

artifacts = f"{tmp}/data/artifacts"
listening, ready = start(900)
count = len([f for f in os.listdir(artifacts) if f.endswith(".cwasm")])
size = sum(os.path.getsize(f"{artifacts}/{f}") for f in os.listdir(artifacts))
print(f"priming start (compiles {N} components): ready after {ready:.2f} s; "
      f"{count} artifacts, {size / 2**20:.0f} MiB")
readies = []
for r in range(rounds):
    listening, ready = start(60)
    readies.append(ready)
    print(f"round {r + 1}: listening after {listening * 1000:.0f} ms, all {N} plugin routes served after {ready * 1000:.0f} ms")
print(f"median: {statistics.median(readies) * 1000:.0f} ms to serve through {N} cached JS/Python plugins (goal <= 1000 ms)")
PY
