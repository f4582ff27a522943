// Benchmark (not a test): the wasm handler vs @smithy/signature-v4 and aws4 doing the same job
// on an origin-request event — decode the body, hash it, sign host + x-api-key + date, produce
// the headers to forward — for a 1 KB and a 1 MB POST, warm, in one process. Also the module
// load (compile + instantiate) time and the packaged zip size. Prints a Markdown table.
//
// Then edge encryption: a 1 KB JSON body with 3 fields to encrypt, encrypted and signed, warm,
// by the wasm handler (suites 0x0478 and 0x0378) and by the AWS Encryption SDK for JavaScript
// (native node:crypto, one message per field, as it works) plus @smithy/signature-v4 over the
// encrypted body. Also the module load with an encrypt section (it parses the RSA key).
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
import { buildEncrypt } from '@aws-crypto/encrypt-node';
import { RawRsaKeyringNode } from '@aws-crypto/raw-rsa-keyring-node';
import { generateKeyPairSync } from 'node:crypto';

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

// ---- edge encryption -------------------------------------------------------------------
const publicKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
const fields = ['/card/number', '/card/cvc', '/payments/*/iban'];
const encryptSection = (suite) => ({ profile: 'bench', providerId: 'bench', keyName: 'bench-key', publicKey, suite, json: { fields } });
const doc = {
  card: { number: '4111111111111111', cvc: 123, holder: 'Ada Lovelace' },
  payments: [{ iban: 'DE89370400440532013000', amount: 12.5 }],
  items: Array.from({ length: 14 }, (_, i) => ({ sku: `SKU-${1000 + i}`, name: `item number ${i}`, qty: i + 1, price: 9.99 })),
};
const jsonBody = Buffer.from(JSON.stringify(doc));
function jsonEvent() {
  const ev = structuredClone(baseEvent);
  const req = ev.Records[0].cf.request;
  req.headers['content-type'] = [{ key: 'Content-Type', value: 'application/json' }];
  req.body.data = jsonBody.toString('base64');
  return ev;
}
const esdk = buildEncrypt('REQUIRE_ENCRYPT_REQUIRE_DECRYPT').encrypt;
const esdk0378 = buildEncrypt('FORBID_ENCRYPT_ALLOW_DECRYPT').encrypt;
const keyring = new RawRsaKeyringNode({ keyName: 'bench-key', keyNamespace: 'bench', rsaKey: { publicKey }, oaepHash: 'sha256' });
function esdkPeer(encrypt, suiteId) {
  return async (ev) => {
    const { req, origin, query } = parts(ev);
    const body = JSON.parse(Buffer.from(req.body.data, 'base64').toString('utf8'));
    const seal = async (value) => (await encrypt(keyring, Buffer.from(JSON.stringify(value)), { suiteId, frameLength: 4096 })).result.toString('base64');
    body.card.number = await seal(body.card.number);
    body.card.cvc = await seal(body.card.cvc);
    for (const p of body.payments) p.iban = await seal(p.iban);
    const signed = await smithy.sign({
      method: req.method, protocol: 'https:', hostname: origin.domainName, path: origin.path + req.uri, query,
      headers: { host: origin.domainName, 'x-api-key': origin.customHeaders['x-api-key'][0].value }, body: JSON.stringify(body),
    }, { signingDate: new Date(now) });
    return signed.headers;
  };
}
const encLoads = [];
for (let i = 0; i < 30; i++) {
  const t = process.hrtime.bigint();
  createSigner(wasm, { encrypt: encryptSection('0x0478') });
  encLoads.push(Number(process.hrtime.bigint() - t) / 1000);
}
encLoads.sort((a, b) => a - b);
const encPeers = {
  'fle wasm handler, suite 0x0478': (() => { const s = createSigner(wasm, { encrypt: encryptSection('0x0478') }); return (ev) => { const o = s(ev, env, now); if (!o.signed) throw new Error(o.refusal); return o; }; })(),
  'fle wasm handler, suite 0x0378': (() => { const s = createSigner(wasm, { encrypt: encryptSection('0x0378') }); return (ev) => { const o = s(ev, env, now); if (!o.signed) throw new Error(o.refusal); return o; }; })(),
  'ESDK for JavaScript + @smithy/signature-v4, suite 0x0478': esdkPeer(esdk, 0x0478),
  'ESDK for JavaScript + @smithy/signature-v4, suite 0x0378': esdkPeer(esdk0378, 0x0378),
};
const encMedians = await timeAll(Object.values(encPeers), jsonEvent(), 20, 10);
console.log('');
console.log(`Edge encryption: ${jsonBody.length}-byte JSON body, ${fields.length} fields encrypted, then signed (warm, median of 200)`);
console.log('');
console.log('| encrypt + sign | µs per request (median) |');
console.log('| --- | ---: |');
Object.keys(encPeers).forEach((name, i) => console.log(`| ${name} | ${encMedians[i].toFixed(0)} |`));
console.log('');
console.log(`wasm module load with an encrypt section (compile + instantiate + configure, median of 30): ${encLoads[15].toFixed(0)} µs`);
