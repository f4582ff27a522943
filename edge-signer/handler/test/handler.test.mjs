// The Node handler (wasm) on every fixture case: same output as `fle edge sign` (native),
// verified by botocore, and the packaged `handler` entry point works from a directory laid
// out like the zip. Needs the release wasm and the `fle` binary (scripts/test.sh builds
// both) and $FLE_TEST_PYTHON for the botocore verifier.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { createSigner } from '../index.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(here, '../../..');
const fixtures = join(root, 'edge-signer/tests/fixtures');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(root, process.env.CARGO_TARGET_DIR) : join(root, 'target');
const wasmPath = process.env.FLE_EDGE_WASM ?? join(targetDir, 'wasm32-unknown-unknown/release/edge_signer.wasm');
const flePath = process.env.FLE_BIN ?? join(targetDir, 'debug/fle');
const manifest = JSON.parse(readFileSync(join(fixtures, 'cases.json'), 'utf8'));
const nowMs = Date.parse(manifest.time);

function need(path, how) {
  assert.ok(existsSync(path), `${path} missing: ${how} (scripts/test.sh does)`);
  return path;
}

function credentialsFor(c) {
  if (c.credentials === false) return null;
  const creds = { accessKeyId: manifest.credentials.accessKeyId, secretAccessKey: manifest.credentials.secretAccessKey };
  if (c.session_token) creds.sessionToken = manifest.credentials.sessionToken;
  return creds;
}

function envFor(creds) {
  if (!creds) return {};
  return { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey, AWS_SESSION_TOKEN: creds.sessionToken };
}

function event(c) {
  return JSON.parse(readFileSync(join(fixtures, c.event), 'utf8'));
}

function handlerResults() {
  const wasm = readFileSync(need(wasmPath, 'build it with cargo build -p edge-signer --target wasm32-unknown-unknown --release'));
  return manifest.cases.map((c) => {
    const sign = createSigner(wasm, { region: c.region, service: c.service });
    return { c, out: sign(event(c), envFor(credentialsFor(c)), nowMs) };
  });
}

test('handler and `fle edge sign` return identical objects for every case', () => {
  need(flePath, 'build it with cargo build -p fle-cli');
  for (const { c, out } of handlerResults()) {
    const args = ['edge', 'sign', '--event', join(fixtures, c.event), '--time', manifest.time];
    if (c.region) args.push('--region', c.region);
    if (c.service) args.push('--service', c.service);
    const env = { PATH: process.env.PATH, ...envFor(credentialsFor(c)) };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const run = spawnSync(flePath, args, { env, encoding: 'utf8' });
    assert.equal(run.status, c.expect === 'signed' ? 0 : 1, `${c.name}: exit code (${run.stderr})`);
    assert.equal(out.signed, c.expect === 'signed', `${c.name}: signed flag`);
    assert.deepStrictEqual(out.result, JSON.parse(run.stdout), `${c.name}: native and wasm differ`);
  }
});

test('botocore verifies every handler result', () => {
  const python = process.env.FLE_TEST_PYTHON;
  assert.ok(python, 'FLE_TEST_PYTHON is not set: run scripts/test.sh, or point it at a python with tests/requirements.txt');
  const items = handlerResults().map(({ c, out }) => ({
    name: c.name, event: event(c), result: out.result, credentials: credentialsFor(c), time: manifest.time,
    region: c.region ?? null, service: c.service ?? 'execute-api', expect: c.expect,
  }));
  const run = spawnSync(python, [join(root, 'tests/oracle/sigv4_verify.py')], { input: JSON.stringify(items), encoding: 'utf8' });
  assert.equal(run.status, 0, `botocore verifier:\n${run.stdout}${run.stderr}`);
  assert.equal(run.stdout.split('\n').filter((l) => l.startsWith('ok   ')).length, items.length, run.stdout);
});

test('1 MB body: handler (hashed by node:crypto) and `fle edge sign` (hashed in Rust) agree', () => {
  const wasm = readFileSync(need(wasmPath, 'build the wasm'));
  const sign = createSigner(wasm, {});
  const ev = event(manifest.cases.find((c) => c.name === 'post-form-origin-path'));
  const body = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < body.length; i++) body[i] = (i * 31 + 7) & 0xff;
  ev.Records[0].cf.request.body.data = body.toString('base64');
  const creds = credentialsFor({});
  const fast = sign(ev, envFor(creds), nowMs);
  assert.equal(fast.signed, true);
  assert.equal(fast.result.body.data, ev.Records[0].cf.request.body.data, 'original body forwarded');
  const file = join(mkdtempSync(join(tmpdir(), 'fle-edge-')), 'big.json');
  writeFileSync(file, JSON.stringify(ev));
  const run = spawnSync(need(flePath, 'build fle'), ['edge', 'sign', '--event', file, '--time', manifest.time], {
    env: { PATH: process.env.PATH, ...envFor(creds) }, encoding: 'utf8', maxBuffer: 16 << 20,
  });
  assert.equal(run.status, 0, run.stderr);
  assert.deepStrictEqual(fast.result, JSON.parse(run.stdout));
});

test('odd base64 bodies: the handler fast path and `fle edge sign` agree (sign or refuse alike)', () => {
  const wasm = readFileSync(need(wasmPath, 'build the wasm'));
  const sign = createSigner(wasm, {});
  const creds = credentialsFor({});
  const dir = mkdtempSync(join(tmpdir(), 'fle-edge-'));
  const datas = ['QUJD', 'QUI=', 'QQ==', 'QR==', 'QUJD\n', 'QU JD', 'QUJ-', 'QUJ_', 'QQ==QUJD', '', 'QUJDRA=', 'Q===', '=QUJ', 'QUJD===='];
  let signed = 0;
  for (const data of datas) {
    const ev = event(manifest.cases.find((c) => c.name === 'post-form-origin-path'));
    ev.Records[0].cf.request.body.data = data;
    const out = sign(ev, envFor(creds), nowMs);
    const file = join(dir, 'ev.json');
    writeFileSync(file, JSON.stringify(ev));
    const run = spawnSync(need(flePath, 'build fle'), ['edge', 'sign', '--event', file, '--time', manifest.time], {
      env: { PATH: process.env.PATH, ...envFor(creds) }, encoding: 'utf8',
    });
    assert.equal(run.status, out.signed ? 0 : 1, `${JSON.stringify(data)}: ${run.stderr}`);
    assert.deepStrictEqual(out.result, JSON.parse(run.stdout), JSON.stringify(data));
    if (out.signed) signed += 1;
  }
  assert.equal(signed, 4, 'exactly the canonical encodings sign');
});

test('packaged layout: `handler` loads wasm + config.json once, signs, and logs no secrets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fle-edge-'));
  copyFileSync(join(here, '../index.mjs'), join(dir, 'index.mjs'));
  copyFileSync(need(wasmPath, 'build the wasm'), join(dir, 'edge_signer.wasm'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ region: 'ap-southeast-2', service: 'execute-api' }));
  const creds = credentialsFor({ session_token: true });
  Object.assign(process.env, envFor(creds));
  const logged = [];
  const original = console.error;
  console.error = (...a) => logged.push(a.join(' '));
  try {
    const { handler } = await import(pathToFileURL(join(dir, 'index.mjs')).href);
    const ok = await handler(event(manifest.cases.find((c) => c.name === 'explicit-region-custom-domain')));
    assert.match(ok.headers.authorization[0].value, /\/ap-southeast-2\/execute-api\/aws4_request/);
    const refused = await handler(event(manifest.cases.find((c) => c.name === 'truncated-body')));
    assert.equal(refused.status, '413');
    const garbage = await handler({ Records: 'nope' });
    assert.equal(garbage.status, '500');
  } finally {
    console.error = original;
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete process.env[k];
  }
  assert.equal(logged.length, 2, logged.join('\n'));
  for (const line of logged) {
    assert.ok(!line.includes(creds.secretAccessKey) && !line.includes(creds.sessionToken), 'secret in log');
  }
});

// Edge encryption: the same event, configuration and seed give the same request from the wasm
// handler and from `fle edge sign --config --seed` (native Rust), for both suites and for JSON
// and form bodies; botocore verifies the signature over the encrypted body.
const { generateKeyPairSync } = await import('node:crypto');
const encryptKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });

function encryptConfig(suite) {
  return {
    region: 'eu-west-1',
    service: 'execute-api',
    encrypt: {
      profile: 'spa', providerId: 'spa-provider', keyName: 'spa-key', publicKey: encryptKey, suite,
      json: { fields: ['/card/number', '/payments/*/iban', '/meta'], required: ['/card/number'] },
      form: { fields: ['card_*'] },
    },
  };
}

function encryptEvent(contentType, body) {
  const ev = event(manifest.cases.find((c) => c.name === 'post-form-origin-path'));
  const req = ev.Records[0].cf.request;
  req.headers['content-type'] = [{ key: 'Content-Type', value: contentType }];
  req.body.data = Buffer.from(body).toString('base64');
  return ev;
}

const encryptBodies = [
  ['application/json', '{"card": {"number": "4111 1111 1111 1111"}, "payments": [{"iban": "DE89"}, {"iban": 7}], "meta": {"a": [1, 2.50, null]}, "n": 12.50}'],
  ['application/json; charset=utf-8', '{"card":{"number":4111111111111111}}'],
  ['application/x-www-form-urlencoded', 'card_number=4111+1111&card_cvc=123&name=Ada'],
  ['application/json', '{"card": {}}'],
  ['text/plain', 'card_number=4111'],
];

test('edge encryption: wasm handler and `fle edge sign --config --seed` forward the same bytes; botocore verifies them', () => {
  const wasm = readFileSync(need(wasmPath, 'build the wasm'));
  const creds = credentialsFor({ session_token: true });
  const dir = mkdtempSync(join(tmpdir(), 'fle-edge-enc-'));
  const items = [];
  let n = 0;
  for (const suite of ['0x0478', '0x0378']) {
    const config = encryptConfig(suite);
    const configFile = join(dir, `config-${suite}.json`);
    writeFileSync(configFile, JSON.stringify(config));
    for (const [contentType, body] of encryptBodies) {
      n += 1;
      const seed = Buffer.alloc(32, n).toString('hex');
      const sign = createSigner(wasm, config, { seed: () => seed });
      const ev = encryptEvent(contentType, body);
      const out = sign(structuredClone(ev), envFor(creds), nowMs);
      const file = join(dir, 'ev.json');
      writeFileSync(file, JSON.stringify(ev));
      const run = spawnSync(need(flePath, 'build fle'), ['edge', 'sign', '--event', file, '--time', manifest.time, '--config', configFile, '--seed', seed], {
        env: { PATH: process.env.PATH, ...envFor(creds) }, encoding: 'utf8',
      });
      const what = `${suite} ${contentType} ${body.slice(0, 20)}`;
      assert.equal(run.status, out.signed ? 0 : 1, `${what}: ${run.stderr}`);
      assert.deepStrictEqual(out.result, JSON.parse(run.stdout), `${what}: native and wasm differ`);
      if (out.signed) {
        assert.equal(out.result.body.action, 'replace', what);
        assert.ok(!out.result.body.data.includes('4111'), `${what}: plaintext forwarded`);
        items.push({ name: what, event: ev, result: out.result, credentials: creds, time: manifest.time, region: 'eu-west-1', service: 'execute-api', expect: 'signed', encrypted: true });
      } else {
        assert.match(out.result.status, /^4\d\d$/, what);
        assert.ok(!JSON.stringify(out.result).includes('4111'), `${what}: plaintext in the refusal`);
      }
    }
  }
  assert.equal(items.length, 6, 'three bodies encrypt in each suite');
  const python = process.env.FLE_TEST_PYTHON;
  assert.ok(python, 'FLE_TEST_PYTHON is not set: run scripts/test.sh');
  const run = spawnSync(python, [join(root, 'tests/oracle/sigv4_verify.py')], { input: JSON.stringify(items), encoding: 'utf8' });
  assert.equal(run.status, 0, `botocore verifier:\n${run.stdout}${run.stderr}`);
  assert.equal(run.stdout.split('\n').filter((l) => l.startsWith('ok   ')).length, items.length, run.stdout);
});

test('edge encryption: two requests never share randomness, and a broken configuration forwards nothing', async () => {
  const wasm = readFileSync(need(wasmPath, 'build the wasm'));
  const creds = credentialsFor({});
  const sign = createSigner(wasm, encryptConfig('0x0478'));
  const ev = encryptEvent(...encryptBodies[0]);
  const a = sign(structuredClone(ev), envFor(creds), nowMs);
  const b = sign(structuredClone(ev), envFor(creds), nowMs);
  assert.equal(a.signed && b.signed, true);
  assert.notEqual(a.result.body.data, b.result.body.data, 'node:crypto seeds each request');

  const logged = [];
  const original = console.error;
  console.error = (...x) => logged.push(x.join(' '));
  let broken;
  try {
    const config = encryptConfig('0x0478');
    config.encrypt.publicKey = '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n';
    broken = createSigner(wasm, config)(structuredClone(ev), envFor(creds), nowMs);
  } finally {
    console.error = original;
  }
  assert.equal(broken.signed, false);
  assert.equal(broken.result.status, '500');
  assert.match(logged.join('\n'), /edge encryption not configured.*publicKey/);
});
