import assert from 'node:assert/strict';
import { cleanPath } from './request-path.js';

describe('cleanPath', () => {
  const ok = (raw: string): string => {
    const r = cleanPath(raw);
    assert.ok(r.ok, `${raw}: ${!r.ok && r.reason}`);
    return r.path;
  };
  const bad = (raw: string): string => {
    const r = cleanPath(raw);
    assert.ok(!r.ok, `${raw} should be refused`);
    return r.reason;
  };

  it('keeps a clean path as it is', () => {
    for (const p of ['/', '/a', '/a/b/', '/a.b/c-d_e~f']) assert.equal(ok(p), p);
  });

  it('decodes percent-escapes, including UTF-8', () => {
    assert.equal(ok('/a%20b'), '/a b');
    assert.equal(ok('/%C3%A9t%C3%A9'), '/été');
    assert.equal(ok('/a%2Fb'), '/a/b');
  });

  it('resolves dot segments and merges slashes', () => {
    assert.equal(ok('/a/./b/../c'), '/a/c');
    assert.equal(ok('//a///b//'), '/a/b/');
    assert.equal(ok('/a/b/..'), '/a/');
    assert.equal(ok('/a/%2e%2e/b'), '/b');
    assert.equal(ok('/a/.'), '/a/');
  });

  it('refuses paths that climb above the root', () => {
    assert.match(bad('/..'), /above the root/);
    assert.match(bad('/a/../../b'), /above the root/);
    assert.match(bad('/%2e%2e/etc/passwd'), /above the root/);
    assert.match(bad('/a/..%2f..%2fetc'), /above the root/);
  });

  it('refuses NUL bytes, invalid escapes and invalid UTF-8 (overlong encodings included)', () => {
    assert.match(bad('/a%00'), /NUL/);
    assert.match(bad('/a%zz'), /percent-encoding/);
    assert.match(bad('/a%'), /percent-encoding/);
    assert.match(bad('/%c0%ae%c0%ae/'), /percent-encoding/);
    assert.match(bad('/%ff'), /percent-encoding/);
  });

  it('refuses a target that is not a path', () => {
    assert.match(bad('*'), /start with \//);
    assert.match(bad('a/b'), /start with \//);
  });
});
