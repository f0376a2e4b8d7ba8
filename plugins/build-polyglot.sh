#!/usr/bin/env bash
# Build the JavaScript and Python authorizers into WebAssembly components:
#   plugins/target/polyglot/js-authorizer.wasm      (componentize-js, from js/authorizer.js)
#   plugins/target/polyglot/python-authorizer.wasm  (componentize-py, from python/app.py)
# Installs componentize-js into js/node_modules (npm ci) and componentize-py (pip) when
# missing. Skips a component that is newer than its sources and the WIT.
# The Rust guests are built by crates/plugin/build.rs instead.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
wit="$here/../wit/causeway-plugin-0.2.0"
out="$here/target/polyglot"
componentize_py_version="0.25.1"
mkdir -p "$out"

# Test runners (nextest) start one process per test, and several may call this script at
# once: hold an exclusive lock for the whole build so npm and pip never race each other.
if [ -z "${CAUSEWAY_POLYGLOT_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
  export CAUSEWAY_POLYGLOT_LOCKED=1
  exec flock "$out/.build.lock" bash "${BASH_SOURCE[0]}" "$@"
fi

fail() { echo "build-polyglot.sh: $*" >&2; exit 1; }

# up_to_date OUTPUT INPUT... : OUTPUT exists and no INPUT (file or folder content) is newer.
up_to_date() {
  local target="$1"; shift
  [ -f "$target" ] || return 1
  [ -z "$(find "$@" -newer "$target" -print -quit 2>/dev/null)" ]
}

# --- JavaScript --------------------------------------------------------------------------
js_out="$out/js-authorizer.wasm"
if up_to_date "$js_out" "$here/js/authorizer.js" "$here/js/build.mjs" "$here/js/package-lock.json" "$wit"; then
  echo "js-authorizer.wasm is up to date"
else
  command -v node >/dev/null || fail "node is required (Node.js 18+) to build the JavaScript plugin"
  command -v npm >/dev/null || fail "npm is required to install componentize-js"
  # A finished install leaves package-lock's copy at node_modules/.package-lock.json.
  if [ ! -f "$here/js/node_modules/.package-lock.json" ] \
     || [ ! -d "$here/js/node_modules/@bytecodealliance/componentize-js" ]; then
    echo "installing componentize-js into plugins/js/node_modules"
    (cd "$here/js" && npm ci --no-audit --no-fund) || fail "npm ci failed in plugins/js"
  fi
  node "$here/js/build.mjs" "$js_out" || fail "componentize-js failed"
fi

# --- Python ------------------------------------------------------------------------------
py_out="$out/python-authorizer.wasm"
if up_to_date "$py_out" "$here/python/app.py" "$wit"; then
  echo "python-authorizer.wasm is up to date"
else
  python="$(command -v python3 || command -v python || true)"
  [ -n "$python" ] || fail "python3 is required to install componentize-py"
  # The CLI lands in the interpreter's scripts folder, which may not be on PATH.
  cpy="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/componentize-py"
  if ! "$cpy" --version 2>/dev/null | grep -q "$componentize_py_version"; then
    echo "installing componentize-py $componentize_py_version"
    "$python" -m pip install --quiet "componentize-py==$componentize_py_version" \
      || fail "pip install componentize-py==$componentize_py_version failed"
  fi
  (cd "$here/python" && PYTHONDONTWRITEBYTECODE=1 "$cpy" -d "$wit" -w authorizer \
      componentize app -o "$py_out") || fail "componentize-py failed"
fi

echo "polyglot plugins in $out"
