// Benchmark (not a test): the wasm handler vs @smithy/signature-v4 and aws4 doing the same job
// on an origin-request event — decode the body, hash it, sign host + x-api-key + date, produce
// the headers to forward — for a 1 KB and a 1 MB POST, warm, in one process. Also the module
// load (compile + instantiate) time and the packaged zip size. Prints a Markdown table.
//
// Usage: node bench/bench.mjs   (after `npm ci`, the release wasm build and `cargo build -p fle-cli`)

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import aws4 from 'aws4';

import { createSigner } from '../index.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(here, '../../..');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, 'target');
const wasmPath = process.env.FLE_EDGE_WASM ?? join(targetDir, 'wasm32-unknown-unknown/release/edge_signer.wasm');
const flePath = process.env.FLE_BIN ?? join(targetDir, 'debug/fle');

const env = { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLETOKEN' };
const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN };
const baseEvent = JSON.parse(readFileSync(join(root, 'edge-signer/tests/fixtures/post-form-origin-path.json'), 'utf8'));
const now = Date.parse('2026-01-02T03:04:05Z');

function eventWithBody(size) {
  const ev = structuredClone(baseEvent);
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = 97 + (i % 26);
  ev.Records[0].cf.request.body.data = body.toString('base64');
  ev.Records[0].cf.request.querystring = 'b=2&a=1&a=0&q=x%20y';
  return ev;
}

/** The parts every peer needs, read from the event as the handler does. */
function parts(ev) {
  const req = ev.Records[0].cf.request;
  const origin = req.origin.custom;
  const query = {};
  for (const pair of req.querystring.split('&').filter(Boolean)) {
    const [k, v = ''] = pair.split('=');
    const key = decodeURIComponent(k.replace(/\+/g, ' '));
    const value = decodeURIComponent(v.replace(/\+/g, ' '));
    query[key] = key in query ? [].concat(query[key], value) : value;
  }
  return { req, origin, query, body: Buffer.from(req.body.data, 'base64') };
}

const smithy = new SignatureV4({ credentials, region: 'eu-west-1', service: 'execute-api', sha256: Hash.bind(null, 'sha256') });

const peers = {
  'fle wasm handler': (sign) => (ev) => sign(ev, env, now).result.headers,
  '@smithy/signature-v4': () => async (ev) => {
    const { req, origin, query, body } = parts(ev);
    const signed = await smithy.sign({
      method: req.method, protocol: 'https:', hostname: origin.domainName, path: origin.path + req.uri, query,
      headers: { host: origin.domainName, 'x-api-key': origin.customHeaders['x-api-key'][0].value }, body,
    }, { signingDate: new Date(now) });
    return signed.headers;
  },
  aws4: () => (ev) => {
    const { req, origin, body } = parts(ev);
    const signed = aws4.sign({
      host: origin.domainName, method: req.method, path: `${origin.path}${req.uri}?${req.querystring}`,
      service: 'execute-api', region: 'eu-west-1', body,
      headers: { 'x-api-key': origin.customHeaders['x-api-key'][0].value, 'X-Amz-Date': '20260102T030405Z' },
    }, credentials);
    return signed.headers;
  },
};

/** Median µs per call. Peers take turns in short rounds so that JIT tier-up, GC and the
 *  other tenants of a shared machine weigh on all of them alike. */
async function timeAll(fns, ev, rounds, perRound) {
  const samples = fns.map(() => []);
  for (const fn of fns) for (let i = 0; i < perRound * 2; i++) await fn(ev); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const [i, fn] of fns.entries()) {
      for (let k = 0; k < perRound; k++) {
        const t = process.hrtime.bigint();
        await fn(ev);
        samples[i].push(Number(process.hrtime.bigint() - t) / 1000);
      }
    }
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(s.length / 2)]);
}

function need(path, how) {
  if (!existsSync(path)) {
    console.error(`${path} missing: ${how}`);
    process.exit(2);
  }
  return path;
}

const wasm = readFileSync(need(wasmPath, 'cargo build -p edge-signer --target wasm32-unknown-unknown --release'));
const loads = [];
for (let i = 0; i < 30; i++) {
  const t = process.hrtime.bigint();
  createSigner(wasm, {});
  loads.push(Number(process.hrtime.bigint() - t) / 1000);
}
loads.sort((a, b) => a - b);
const sign = createSigner(wasm, {});

const zipDir = mkdtempSync(join(tmpdir(), 'fle-bench-'));
const zip = join(zipDir, 'edge.zip');
const pkg = spawnSync(need(flePath, 'cargo build -p fle-cli'), ['edge', 'package', '--wasm', wasmPath, '--out', zip], { encoding: 'utf8' });
if (pkg.status !== 0) {
  console.error(pkg.stderr);
  process.exit(2);
}

const sizes = [['1 KB POST', 1024, 40, 50], ['1 MB POST', 1024 * 1024, 20, 5]];
const names = Object.keys(peers);
const fns = Object.values(peers).map((make) => make(sign));
const rows = names.map((name) => [name]);
for (const [, size, rounds, perRound] of sizes) {
  const medians = await timeAll(fns, eventWithBody(size), rounds, perRound);
  medians.forEach((m, i) => rows[i].push(m.toFixed(1)));
}

console.log(`Edge signer benchmark, ${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
console.log('');
console.log('| signer | 1 KB POST (µs, median) | 1 MB POST (µs, median) |');
console.log('| --- | ---: | ---: |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log('');
console.log(`wasm module load (compile + instantiate, median of 30): ${loads[15].toFixed(0)} µs`);
console.log(`wasm module: ${wasm.length} bytes (before stripping custom sections); zip from fle edge package: ${statSync(zip).size} bytes`);
