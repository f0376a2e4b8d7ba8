// Causeway HMAC authorizer in JavaScript: the same contract as
// plugins/examples/hmac-authorizer (Rust) and plugins/python/app.py.
//
// Token: `Authorization: Bearer <payload>.<signature>`, payload = base64url(JSON claims),
// signature = base64url(HMAC-SHA256(config("secret"), payload)). Claims: `sub`
// (principal), optional `exp` (Unix seconds), `scope`, `routes`, `ctx` (string map).
// Missing/malformed token → unauthorized; bad signature or expired → deny; else allow,
// cacheable for config("ttl") seconds (default 300).
//
// Built by build.mjs (componentize-js) against wit/causeway-plugin-0.1.0, world
// `authorizer`. Records arrive as objects with camelCase fields, enums as strings,
// tuples as arrays.

import { log, nowMs, config } from 'causeway:plugin/host@0.1.0';

// --- SHA-256 and HMAC (no crypto API is available synchronously) -----------------------
// Written for an interpreter (StarlingMonkey runs SpiderMonkey without a JIT): plain
// locals, no closures or DataView in the hot loop, and the HMAC key's inner and outer
// states computed once per secret and kept (warm instances reuse them).

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const W = new Int32Array(64);

/** Compress the 64-byte block of `bytes` at `off` into the state `h` (Int32Array(8)). */
function compress(h, bytes, off) {
  const w = W;
  for (let i = 0; i < 16; i++, off += 4) {
    w[i] = (bytes[off] << 24) | (bytes[off + 1] << 16) | (bytes[off + 2] << 8) | bytes[off + 3];
  }
  for (let i = 16; i < 64; i++) {
    const x = w[i - 15];
    const y = w[i - 2];
    const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
    const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
  for (let i = 0; i < 64; i++) {
    const t1 = (k + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7)))
      + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const t2 = ((((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10)))
      + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g; g = f; f = e; e = (d + t1) | 0;
    d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
  h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
}

/** Finish a hash whose state `h` already absorbed `prefix` bytes (whole blocks). */
function finish(h, bytes, prefix) {
  const total = prefix + bytes.length;
  const padded = new Uint8Array(((bytes.length + 9 + 63) >> 6) << 6);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const bits = total * 8;
  const end = padded.length;
  padded[end - 5] = Math.floor(bits / 0x100000000) & 0xff;
  padded[end - 4] = (bits >>> 24) & 0xff;
  padded[end - 3] = (bits >>> 16) & 0xff;
  padded[end - 2] = (bits >>> 8) & 0xff;
  padded[end - 1] = bits & 0xff;
  for (let off = 0; off < end; off += 64) compress(h, padded, off);
  const out = new Uint8Array(32);
  for (let i = 0; i < 8; i++) {
    out[i * 4] = h[i] >>> 24; out[i * 4 + 1] = h[i] >>> 16; out[i * 4 + 2] = h[i] >>> 8; out[i * 4 + 3] = h[i];
  }
  return out;
}

function sha256(bytes) {
  return finish(Int32Array.from(IV), bytes, 0);
}

/** The inner and outer states of HMAC-SHA256 after absorbing the padded key. */
function hmacKey(key) {
  if (key.length > 64) key = sha256(key);
  const block = new Uint8Array(64);
  const inner = Int32Array.from(IV);
  const outer = Int32Array.from(IV);
  for (let i = 0; i < 64; i++) block[i] = (key[i] ?? 0) ^ 0x36;
  compress(inner, block, 0);
  for (let i = 0; i < 64; i++) block[i] = (key[i] ?? 0) ^ 0x5c;
  compress(outer, block, 0);
  return { inner, outer };
}

const keys = new Map();

function hmacSha256(secret, message) {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size > 16) keys.clear();
    key = hmacKey(utf8.encode(secret));
    keys.set(secret, key);
  }
  const inner = finish(Int32Array.from(key.inner), message, 64);
  return finish(Int32Array.from(key.outer), inner, 64);
}

// --- base64url and UTF-8 ---------------------------------------------------------------

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const DECODE = new Map([...ALPHABET].map((c, i) => [c, i]));

function base64urlDecode(text) {
  const out = [];
  let bits = 0;
  let acc = 0;
  for (const c of text) {
    const v = DECODE.get(c);
    if (v === undefined) return null;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return new Uint8Array(out);
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
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

function bearerToken(request) {
  let token = request.identitySource.length > 0 ? request.identitySource[0] : '';
  if (!token) {
    const header = request.headers.find(([k]) => k.toLowerCase() === 'authorization');
    token = header ? header[1] : '';
  }
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(token);
  return match ? match[1] : null;
}

export function authorize(request) {
  const token = bearerToken(request);
  const dot = token ? token.indexOf('.') : -1;
  if (dot < 0) return decision('unauthorized', '');
  const payload = token.slice(0, dot);
  const signature = base64urlDecode(token.slice(dot + 1));
  const secret = config('secret');
  if (secret === undefined || secret === null) {
    log('error', 'no `secret` configured: denying everything', []);
    return decision('deny', '', 'authorizer is not configured');
  }
  const expected = hmacSha256(secret, utf8.encode(payload));
  if (!signature || !equalBytes(signature, expected)) {
    log('warn', 'bad token signature', [['request-id', request.requestId]]);
    return decision('deny', '', 'invalid token signature');
  }
  let claims;
  try {
    const json = base64urlDecode(payload);
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
