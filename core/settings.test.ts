import assert from 'node:assert/strict';
import { checkGate, loadTestGate, startGate, type TestGate } from '../test/helpers/gate.js';
import { rawRequest } from '../test/helpers/raw-http.js';

const SERVER = 'server { listen 127.0.0.1:0; respond "ok" }\n';
const at = (ds: readonly { code: string; span: { line: number; col: number } }[]): string[] => ds.map((d) => `${d.span.line}:${d.span.col} ${d.code}`);

describe('global settings that cannot run are refused at check', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  it('request_timeout alone brings the default header_timeout down with it, and serves', async () => {
    const text = `global { request_timeout 5s }\n${SERVER}`;
    assert.deepEqual(at(await checkGate(text)), []);
    assert.equal((await loadTestGate(text)).config!.global.headerTimeout, 5000);
    gate = await startGate(text); // Node refused headersTimeout 60000 > requestTimeout 5000 here
    assert.equal(await (await fetch(gate.url('/'))).text(), 'ok');
  });

  it('header_timeout alone above the default request_timeout takes that up with it', async () => {
    const text = `global { header_timeout 10m }\n${SERVER}`;
    assert.deepEqual(at(await checkGate(text)), []);
    const g = (await loadTestGate(text)).config!.global;
    assert.deepEqual([g.headerTimeout, g.requestTimeout], [600_000, 600_000]);
    gate = await startGate(text);
  });

  it('header_timeout set above request_timeout is an error at the header_timeout value', async () => {
    const ds = await checkGate(`global {\n    request_timeout 5s\n    header_timeout 1m\n}\n${SERVER}`);
    assert.deepEqual(at(ds), ['3:20 GK_CONFIG_SETTING_CONFLICT']);
    assert.equal(ds[0].message, "'header_timeout' 1m is longer than 'request_timeout' 5s");
    assert.deepEqual(at(await checkGate(`global { request_timeout 0s; header_timeout 1m }\n${SERVER}`)), [], 'request_timeout 0s is off');
  });

  it('a duration past what a timer holds (24d) is an error at the value, in global and in plugins', async () => {
    const ds = await checkGate(
      `global { graceful_timeout 30d; keepalive_timeout 99999999999999999999d }\n` +
        'server { listen 127.0.0.1:0; proxy http://127.0.0.1:9 { read_timeout 25d } }\n' +
        'server a.test { listen 127.0.0.1:0; respond "x"; tls self_signed { hsts 365d } }\n',
    );
    assert.deepEqual(
      at(ds).filter((d) => !d.includes('TLS')),
      ['1:27 GK_DSL_BAD_ARG', '1:50 GK_DSL_BAD_ARG', '2:70 GK_DSL_BAD_ARG'],
    );
    assert.equal(ds[0].help, 'expected a duration of at most 24d');
    assert.deepEqual(at(await checkGate(`global { graceful_timeout 24d }\n${SERVER}`)), []);
  });

  it('sizes and integers past what a number holds, and unix socket paths past 107 bytes, are errors at the value', async () => {
    const long = `/tmp/${'s'.repeat(110)}.sock`;
    const ds = await checkGate(`global { max_requests 99999999999999999999 }\nserver { listen unix:${long}; limit { body 2048GB }; respond "x" }\n`);
    assert.deepEqual(at(ds), ['1:23 GK_DSL_BAD_ARG', '2:17 GK_DSL_BAD_ARG', '2:157 GK_DSL_BAD_ARG']);
    assert.deepEqual(
      ds.map((d) => d.help),
      ['expected an integer of at most 9007199254740991', 'expected a unix socket path of at most 107 bytes', 'expected a size of at most 1024GB'],
    );
  });

  it('worker_timeout under 1s is an error (a worker would be killed at every pause); 0s turns it off', async () => {
    assert.deepEqual(at(await checkGate(`global { workers 2; worker_timeout 100ms }\n${SERVER}`)), ['1:36 GK_CONFIG_SETTING_RANGE']);
    assert.deepEqual(at(await checkGate(`global { workers 2; worker_timeout 0s }\n${SERVER}`)), []);
  });

  it('keepalive_timeout 0s turns keep-alive off, as in Nginx, instead of keeping idle connections forever', async () => {
    gate = await startGate(`global { keepalive_timeout 0s }\n${SERVER}`);
    const res = await rawRequest(gate.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 3000);
    assert.equal(res.status, 200);
    assert.match(res.text, /\r\nConnection: close\r\n/i);
    assert.ok(res.closed, 'the server closed the connection');
  });
});
