import assert from 'node:assert/strict';
import { hostOf, VirtualHosts } from './vhosts.js';

describe('virtual hosts', () => {
  it('reads the host name from a Host header', () => {
    assert.equal(hostOf('Example.COM:8080'), 'example.com');
    assert.equal(hostOf('example.com.'), 'example.com');
    assert.equal(hostOf('[::1]:8443'), '[::1]');
    assert.equal(hostOf(undefined), '');
    assert.equal(hostOf('127.0.0.1:19400'), '127.0.0.1');
    assert.equal(hostOf('Example.com.:80'), 'example.com');
    assert.equal(hostOf('[FE80::1]:80'), '[fe80::1]');
    assert.equal(hostOf('ÉTÉ.example'), 'été.example');
  });

  it('picks exact names first, then the longest wildcard, then the default', () => {
    const v = new VirtualHosts<string>();
    v.add(['a.example.com'], 'exact');
    v.add(['*.example.com'], 'wild');
    v.add(['*.deep.example.com'], 'deeper');
    v.add([], 'default');
    assert.equal(v.pick('a.example.com'), 'exact');
    assert.equal(v.pick('b.example.com'), 'wild');
    assert.equal(v.pick('x.deep.example.com'), 'deeper');
    assert.equal(v.pick('example.com'), 'default');
    assert.equal(v.pick(''), 'default');
  });

  it('falls back to the first server when none is a default', () => {
    const v = new VirtualHosts<string>();
    v.add(['one.test'], 'one');
    v.add(['two.test'], 'two');
    assert.equal(v.pick('three.test'), 'one');
  });
});
