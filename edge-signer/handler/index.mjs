// Lambda@Edge origin-request handler: SigV4-signs the request CloudFront is about to send to
// API Gateway (or a Lambda function URL) with the Rust signer compiled to WebAssembly.
//
// No npm runtime dependencies. The module is compiled once per container (at import); the
// credentials come from the reserved variables; the time is passed in (the wasm has no clock).
// Region and service come from config.json beside this file (written by `fle edge package`),
// because Lambda@Edge has no environment variables of its own. With an `encrypt` section
// (`fle edge package --encrypt PROFILE`) the module also encrypts the configured fields of the
// body and signs the encrypted body; node:crypto supplies the randomness (wasm has none).

import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The response returned when the signer itself is unusable: never forward unsigned. */
function internalError() {
  return {
    status: '500',
    statusDescription: 'Internal Server Error',
    headers: {
      'cache-control': [{ key: 'Cache-Control', value: 'no-store' }],
      'content-type': [{ key: 'Content-Type', value: 'text/plain; charset=utf-8' }],
    },
    body: 'edge signer refused the request: internal error\n',
  };
}

/**
 * Hashes the body natively (node:crypto is far faster than SHA-256 in wasm) and returns the
 * event with the body data left out, plus the hex digest. Returns null to let the wasm
 * decide (no body, truncated, unknown encoding, or base64 that is not canonical, which the
 * Rust decoder rejects while Buffer.from would silently skip bad characters).
 */
function hashBody(event) {
  const record = event?.Records?.[0];
  const request = record?.cf?.request;
  const body = request?.body;
  if (!body || typeof body.data !== 'string' || body.inputTruncated === true || event.Records.length !== 1) return null;
  let bytes;
  if (body.encoding === undefined || body.encoding === 'base64') {
    const data = body.data;
    // Strict standard base64 without a second full pass: Buffer.from skips bad characters and
    // accepts the URL-safe alphabet, so check the length it decoded to, the alphabet and the
    // final quantum (non-canonical trailing bits) instead of re-encoding the whole body.
    if (data.length % 4 !== 0 || data.includes('-') || data.includes('_')) return null;
    const pad = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
    bytes = Buffer.from(data, 'base64');
    if (bytes.length !== (data.length / 4) * 3 - pad) return null;
    if (data.length > 0 && bytes.subarray(bytes.length - (3 - pad)).toString('base64') !== data.slice(-4)) return null;
  } else if (body.encoding === 'text') {
    bytes = Buffer.from(body.data, 'utf8');
  } else {
    return null;
  }
  const slim = {
    ...event,
    Records: [{ ...record, cf: { ...record.cf, request: { ...request, body: { ...body, data: '' } } } }],
  };
  return { slim, hash: createHash('sha256').update(bytes).digest('hex') };
}

/** Copies a string into module memory, calls `fn(ptr, capacity, len)`, reads its answer. */
function call(exports, fn, text) {
  const { memory, alloc, dealloc } = exports;
  // UTF-8 needs at most 3 bytes per UTF-16 unit: encode straight into module memory.
  const capacity = text.length * 3;
  const inPtr = alloc(capacity);
  const { written } = encoder.encodeInto(text, new Uint8Array(memory.buffer, inPtr, capacity));
  // The module frees (and zeroes) the input buffer itself.
  const packed = fn(inPtr, capacity, written);
  const outPtr = Number(packed >> 32n);
  const outLen = Number(packed & 0xffffffffn);
  if (outPtr === 0) return null;
  const answer = decoder.decode(new Uint8Array(memory.buffer, outPtr, outLen));
  dealloc(outPtr, outLen);
  return JSON.parse(answer);
}

/**
 * Compiles the signer module once and returns `sign(event, env, nowMs)` →
 * `{ signed, refusal?, result }`, where `result` is what the handler returns to CloudFront:
 * the event's request with the signing patch applied, or the refusal's response object.
 * `config` is `{ region?, service?, encrypt? }`. `options.seed()` returns the 32 random bytes
 * of one request as hex (default: node:crypto); tests pass a fixed one.
 */
export function createSigner(wasmBytes, config = {}, options = {}) {
  const module = new WebAssembly.Module(wasmBytes);
  const encrypting = config.encrypt !== undefined && config.encrypt !== null;
  // Tests only: a fixed seed reuses AES-GCM keys and IVs across requests.
  const seed = options.seed ?? (() => randomBytes(32).toString('hex'));
  let exports;
  function instantiate() {
    exports = new WebAssembly.Instance(module, {}).exports;
    if (encrypting) {
      // A configuration the module refuses leaves every request refused (500), never forwarded.
      const answer = call(exports, exports.configure, JSON.stringify(config.encrypt));
      if (!answer?.configured) {
        console.error(JSON.stringify({ msg: 'edge encryption not configured', error: answer?.error ?? 'no answer' }));
      }
    }
  }
  instantiate();
  function signEvent(event, env, nowMs) {
    // Encrypting changes the body, so the module hashes what it forwards.
    const hashed = encrypting ? null : hashBody(event);
    const invocation = {
      event: hashed ? hashed.slim : event,
      time: Math.floor(nowMs / 1000),
      region: config.region,
      service: config.service,
      payloadSha256: hashed?.hash,
      seed: encrypting ? seed() : undefined,
    };
    if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
      invocation.credentials = {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        sessionToken: env.AWS_SESSION_TOKEN || undefined,
      };
    }
    let out;
    try {
      out = call(exports, exports.sign, JSON.stringify(invocation));
    } catch (e) {
      // A trap leaves the instance's memory in an unknown state: the next request gets a new one.
      instantiate();
      throw e;
    }
    if (out === null) return { signed: false, refusal: 'internal error', result: internalError() };
    if (!out.signed) return out;
    // The module answers with what changes (RequestPatch in the Rust crate); apply it to
    // CloudFront's own request exactly as RequestPatch::apply does.
    const request = event.Records[0].cf.request;
    const headers = { ...request.headers };
    for (const name of out.patch.removeHeaders) delete headers[name];
    Object.assign(headers, out.patch.setHeaders);
    const result = { ...request, querystring: out.patch.querystring, headers };
    // The encrypted body replaces the viewer's (action "replace"); CloudFront sets its length.
    if (out.patch.body) result.body = out.patch.body;
    return { signed: true, result };
  }
  return signEvent;
}

function loadPackaged() {
  try {
    const wasm = readFileSync(new URL('./edge_signer.wasm', import.meta.url));
    let config = {};
    try {
      config = JSON.parse(readFileSync(new URL('./config.json', import.meta.url), 'utf8'));
    } catch (e) {
      if (e.code !== 'ENOENT') throw e;
    }
    return { sign: createSigner(wasm, config) };
  } catch (e) {
    return { error: String(e?.message ?? e) };
  }
}

const packaged = loadPackaged();

/** The Lambda@Edge entry point (origin-request). */
export const handler = async (event) => {
  if (packaged.error) {
    console.error(JSON.stringify({ msg: 'edge signer failed to load', error: packaged.error }));
    return internalError();
  }
  let out;
  try {
    out = packaged.sign(event, process.env, Date.now());
  } catch (e) {
    console.error(JSON.stringify({ msg: 'edge signer failed', error: String(e?.message ?? e) }));
    return internalError();
  }
  if (!out.signed) {
    // The refusal class only: never the event, credentials or headers.
    console.error(JSON.stringify({
      msg: 'edge signer refused request',
      refusal: out.refusal,
      requestId: event?.Records?.[0]?.cf?.config?.requestId,
    }));
  }
  return out.result;
};
