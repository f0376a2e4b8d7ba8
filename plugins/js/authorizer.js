// Causeway HMAC authorizer in JavaScript: the same contract as
// plugins/examples/hmac-authorizer (Rust) and plugins/python/app.py.
//
// Token: `Authorization: Bearer <payload>.<signature>`, payload = base64url(JSON claims),
// signature = base64url(HMAC-SHA256(config("secret"), payload)). Claims: `sub`
// (principal), optional `exp` (Unix seconds), `scope`, `routes`, `ctx` (string map).
// Missing/malformed token → unauthorized; bad signature or expired → deny; else allow,
// cacheable for config("ttl") seconds (default 300).
//
// Built by build.mjs (componentize-js) against wit/causeway-plugin-0.2.0, world
// `authorizer`. The request is a resource: each method (`identitySource()`,
// `header(name)`, `requestId()`, ...) copies one field into the guest when called, so
// the authorizer pays only for what it reads. Records arrive as objects with camelCase
// fields, enums as strings, tuples as arrays.

import { log, nowMs, config } from 'causeway:plugin/host@0.2.0';

// --- HMAC-SHA256 and base64url, on the runtime's native code --------------------------
// StarlingMonkey interprets JavaScript (no JIT): a loop iteration costs ~0.1 µs, so a
// SHA-256 written in JavaScript costs ~50 µs per block. Everything below is a handful of
// calls into native builtins instead: `crypto.subtle.digest` (OpenSSL) for the two
// hashes of HMAC, with the key's padded inner and outer blocks built once per secret,
// and `Uint8Array.fromBase64` / `toBase64` for base64url. (`crypto.subtle.sign` with an
// HMAC key would do the same but costs ~20 µs a call: OpenSSL looks the MAC up on every
// call; two digests cost ~7 µs.) Warm instances keep the key blocks between calls.

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const BASE64URL = { alphabet: 'base64url' };

/** The padded key blocks of one secret: inner (`key ^ 0x36`) and outer (`key ^ 0x5c`). */
class HmacKey {
  constructor(secret) {
    const key = utf8.encode(secret);
    this.inner = null;
    // Outer hash input: the outer block, then the inner hash.
    this.outer = new Uint8Array(96);
    // A key longer than a block is hashed first (asynchronously: `ready`).
    this.ready = key.length > 64
      ? crypto.subtle.digest('SHA-256', key).then((k) => this.pad(new Uint8Array(k)))
      : this.pad(key);
  }

  pad(key) {
    const inner = new Uint8Array(64);
    for (let i = 0; i < 64; i++) {
      const k = i < key.length ? key[i] : 0;
      inner[i] = k ^ 0x36;
      this.outer[i] = k ^ 0x5c;
    }
    this.inner = inner;
  }

  /** HMAC-SHA256 of the UTF-8 bytes of `message`, as an ArrayBuffer of 32 bytes. */
  async sign(message) {
    if (this.inner === null) await this.ready;
    const bytes = utf8.encode(message);
    const input = new Uint8Array(64 + bytes.length);
    input.set(this.inner);
    input.set(bytes, 64);
    const inner = await crypto.subtle.digest('SHA-256', input);
    this.outer.set(new Uint8Array(inner), 64);
    return crypto.subtle.digest('SHA-256', this.outer);
  }
}

/** Keys by secret (the secret may come from a stage variable, so it can change between
 *  calls); a few are kept. */
const keys = new Map();

function keyFor(secret) {
  let key = keys.get(secret);
  if (key === undefined) {
    if (keys.size >= 16) keys.clear();
    key = new HmacKey(secret);
    keys.set(secret, key);
  }
  return key;
}

/** Bytes of base64url `text` (padding optional), or null if it is not base64url. */
function base64url(text) {
  try {
    return Uint8Array.fromBase64(text, BASE64URL);
  } catch (e) {
    return null;
  }
}

/** Whether the 32-byte MAC equals `given`, in time independent of where they differ. */
function sameMac(mac, given) {
  if (given === null || given.length !== 32) return false;
  // 8 words rather than 32 bytes: fewer interpreted loop turns.
  const a = new Uint32Array(mac);
  const b = new Uint32Array(given.buffer, given.byteOffset, 8);
  let diff = 0;
  for (let i = 0; i < 8; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

// --- the authorizer ----------------------------------------------------------------------

function decision(effect, principalId, message) {
  return {
    effect,
    principalId,
    context: [],
    usageIdentifierKey: undefined,
    ttlSeconds: 0,
    routes: [],
    message,
  };
}

const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

function bearerToken(request) {
  const sources = request.identitySource();
  let token = sources.length > 0 ? sources[0] : '';
  if (!token) token = request.header('authorization') ?? '';
  const match = BEARER.exec(token);
  return match ? match[1] : null;
}

// Async: componentize-js runs the event loop until the returned promise settles (the
// digests resolve promises), and the export stays a plain synchronous component function.
export async function authorize(request) {
  try {
    return await decide(request);
  } finally {
    // Hand the request handle back now: the bindings would otherwise keep it until the
    // object is collected, and a reused instance would hold one per call.
    const dispose = Symbol.dispose ?? Symbol.for('dispose');
    if (typeof request[dispose] === 'function') request[dispose]();
  }
}

async function decide(request) {
  const token = bearerToken(request);
  const dot = token ? token.indexOf('.') : -1;
  if (dot < 0) return decision('unauthorized', '');
  const payload = token.slice(0, dot);
  const secret = config('secret');
  if (secret === undefined || secret === null) {
    log('error', 'no `secret` configured: denying everything', []);
    return decision('deny', '', 'authorizer is not configured');
  }
  const mac = await keyFor(secret).sign(payload);
  if (!sameMac(mac, base64url(token.slice(dot + 1)))) {
    log('warn', 'bad token signature', [['request-id', request.requestId()]]);
    return decision('deny', '', 'invalid token signature');
  }
  let claims;
  try {
    const json = base64url(payload);
    claims = json && JSON.parse(fromUtf8.decode(json));
  } catch (e) {
    claims = null;
  }
  if (!claims || typeof claims.sub !== 'string') return decision('unauthorized', '');
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Number(nowMs())) {
    return decision('deny', claims.sub, 'token expired');
  }
  const ttl = parseInt(config('ttl') ?? '', 10);
  const d = decision('allow', claims.sub);
  d.ttlSeconds = Number.isFinite(ttl) && ttl >= 0 ? ttl : 300;
  d.context.push(['sub', claims.sub], ['authorizer', 'hmac']);
  if (typeof claims.scope === 'string') d.context.push(['scope', claims.scope]);
  for (const [k, v] of Object.entries(claims.ctx ?? {})) d.context.push([k, String(v)]);
  d.routes = Array.isArray(claims.routes) ? claims.routes.map(String) : [];
  return d;
}
