import assert from 'node:assert/strict';
import { checkGate, loadTestGate } from '../../test/helpers/gate.js';
import { parseStoreAddress } from './redis-address.js';
import { redactedUrl } from './shared-store.js';

const SERVER = 'server { listen 127.0.0.1:0; respond "ok" }\n';

describe('global { store }', () => {
  it('reads the URL and its options, with defaults', async () => {
    const g = (await loadTestGate(`global { store redis://10.0.0.5:6380/2 { password s3cret; prefix site1:; timeout 20ms } }\n${SERVER}`)).config!.global;
    assert.deepEqual(g.store, {
      url: 'redis://10.0.0.5:6380/2',
      address: { kind: 'tcp', host: '10.0.0.5', port: 6380, db: 2, tls: false },
      prefix: 'site1:',
      timeout: 20,
      password: 's3cret',
    });
    const d = (await loadTestGate(`global { store unix:/run/redis/redis.sock }\n${SERVER}`)).config!.global.store;
    assert.deepEqual([d?.address, d?.prefix, d?.timeout], [{ kind: 'unix', path: '/run/redis/redis.sock', db: 0 }, 'gatekit:', 50]);
    assert.equal((await loadTestGate(SERVER)).config!.global.store, undefined);
  });

  it('reads rediss://, IPv6, credentials in the URL, sentinels and a unix socket database', () => {
    assert.deepEqual(parseStoreAddress('rediss://user:p%40ss@[::1]/1'), {
      kind: 'tcp',
      host: '::1',
      port: 6379,
      db: 1,
      tls: true,
      user: 'user',
      password: 'p@ss',
    });
    assert.deepEqual(parseStoreAddress('redis-sentinel://a:26379,b:26380/mymaster/3'), {
      kind: 'sentinel',
      sentinels: [
        { host: 'a', port: 26379 },
        { host: 'b', port: 26380 },
      ],
      name: 'mymaster',
      db: 3,
      tls: false,
    });
    assert.deepEqual(parseStoreAddress('unix:/tmp/r.sock?db=4'), { kind: 'unix', path: '/tmp/r.sock', db: 4 });
  });

  it('refuses a URL it cannot use, at the URL, saying what it takes', async () => {
    const ds = await checkGate(`global {\n  store http://localhost:6379\n}\n${SERVER}`);
    assert.deepEqual(
      ds.map((d) => [d.span.line, d.span.col, d.code, d.message]),
      [[2, 9, 'GK_CONFIG_STORE_URL', "invalid store 'http://localhost:6379': unknown scheme 'http:'"]],
    );
    assert.match(ds[0].help!, /rediss:\/\//);
    for (const bad of ['unix:run/redis.sock', 'redis://h/x', 'redis-sentinel://a/m']) {
      assert.equal((await checkGate(`global { store ${bad} }\n${SERVER}`))[0]?.code, 'GK_CONFIG_STORE_URL', bad);
    }
  });

  it('keeps the password out of what it logs', () => {
    assert.equal(redactedUrl('redis://:s3cret@h:6379/0'), 'redis://:***@h:6379/0');
    assert.equal(redactedUrl('redis://u:s3cret@h'), 'redis://u:***@h');
  });
});
