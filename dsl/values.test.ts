import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { parseAddress, parseDuration, parseSize, parseValue } from './values.js';
import { Template } from './template.js';

describe('typed values', () => {
  it('reads durations in ms, s, m, h, d and sums', () => {
    assert.deepEqual(['250ms', '30s', '5m', '1h', '1d', '1m30s', '1.5s'].map(parseDuration), [250, 30_000, 300_000, 3_600_000, 86_400_000, 90_000, 1500]);
    for (const bad of ['5', '5 s', 's', '5parsecs', '-1s', '']) assert.equal(parseDuration(bad), undefined, bad);
  });

  it('reads sizes with binary multiples', () => {
    assert.deepEqual(['512B', '64KB', '10MB', '1GB', '1KiB', '2m', '100'].map(parseSize), [512, 65536, 10 * 1024 ** 2, 1024 ** 3, 1024, 2 * 1024 ** 2, 100]);
    for (const bad of ['10 MB', 'MB', '10XB', '']) assert.equal(parseSize(bad), undefined, bad);
  });

  it('reads addresses: port, :port, host:port, [v6]:port, unix:path', () => {
    assert.deepEqual(parseAddress('8080'), { kind: 'tcp', port: 8080, text: '8080' });
    assert.deepEqual(parseAddress(':8080'), { kind: 'tcp', port: 8080, text: ':8080' });
    assert.deepEqual(parseAddress('127.0.0.1:80'), { kind: 'tcp', host: '127.0.0.1', port: 80, text: '127.0.0.1:80' });
    assert.deepEqual(parseAddress('[::1]:8443'), { kind: 'tcp', host: '::1', port: 8443, text: '[::1]:8443' });
    assert.deepEqual(parseAddress('localhost:3000'), { kind: 'tcp', host: 'localhost', port: 3000, text: 'localhost:3000' });
    assert.deepEqual(parseAddress('unix:/run/a.sock'), { kind: 'unix', path: '/run/a.sock', text: 'unix:/run/a.sock' });
    for (const bad of ['99999', 'localhost', 'unix:', '::1:80', 'http://x:80', '1.2.3.4:']) assert.equal(parseAddress(bad), undefined, bad);
  });

  it('checks ints with bounds and extra words, bools, enums, urls and regexes', () => {
    const int = { name: 'n', type: 'int' as const, min: 0, max: 10, also: ['auto'] };
    assert.deepEqual(parseValue('7', int, 'f'), { ok: true, value: 7 });
    assert.deepEqual(parseValue('auto', int, 'f'), { ok: true, value: 'auto' });
    assert.deepEqual(parseValue('11', int, 'f'), { ok: false, expected: "an integer of at most 10 or 'auto'" });
    assert.deepEqual(parseValue('off', { name: 'b', type: 'bool' }, 'f'), { ok: true, value: false });
    assert.equal(parseValue('maybe', { name: 'b', type: 'bool' }, 'f').ok, false);
    assert.equal(parseValue('b', { name: 'e', type: 'enum', values: ['a'] }, 'f').ok, false);
    assert.equal(parseValue('ftp://x', { name: 'u', type: 'url', schemes: ['http', 'https'] }, 'f').ok, false);
    assert.equal(parseValue('https://x:1/p', { name: 'u', type: 'url', schemes: ['http', 'https'] }, 'f').ok, true);
    assert.match((parseValue('(', { name: 'r', type: 'regex' }, 'f') as { expected: string }).expected, /valid regular expression/);
  });

  it('resolves paths relative to the file that holds them', () => {
    assert.deepEqual(parseValue('./public', { name: 'p', type: 'path' }, '/etc/gate/site.gate'), { ok: true, value: '/etc/gate/public' });
    assert.deepEqual(parseValue('/srv/www', { name: 'p', type: 'path' }, '/etc/gate/site.gate'), { ok: true, value: '/srv/www' });
    assert.deepEqual(parseValue('rel', { name: 'p', type: 'path' }, 'site.gate'), { ok: true, value: resolve('rel') });
  });
});

describe('templates', () => {
  const vars: Record<string, string> = { host: 'h.test', uri: '/a?b', 1: 'one' };
  const render = (s: string): string => new Template(s).render((n) => vars[n]);

  it('substitutes $name and $1..$9, leaving unknown ones empty', () => {
    assert.equal(render('https://$host$uri'), 'https://h.test/a?b');
    assert.equal(render('/new/$1/x'), '/new/one/x');
    assert.equal(render('[$nope]'), '[]');
  });

  it('keeps $$ as a dollar and a lone $ as it is', () => {
    assert.equal(render('cost: $$5 and 100$'), 'cost: $5 and 100$');
    assert.equal(new Template('plain').isStatic, true);
    assert.equal(new Template('$$').isStatic, true);
  });

  it('records each reference with its offset, for diagnostics', () => {
    assert.deepEqual(new Template('a $host b $1').refs, [
      { name: 'host', offset: 2 },
      { name: '1', offset: 10 },
    ]);
  });
});
