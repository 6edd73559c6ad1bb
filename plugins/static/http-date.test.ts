import assert from 'node:assert/strict';
import { parseHttpDate } from './http-date.js';

describe('parseHttpDate', () => {
  const at = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;

  it('reads the three forms of RFC 9110, all as UTC', () => {
    assert.equal(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT'), at);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), at);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), at);
  });

  it('reads an asctime date as UTC whatever the local time zone', () => {
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), at);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('refuses what is no HTTP-date, and dates that do not exist', () => {
    for (const bad of [
      '2099',
      '2099-01-01',
      '1994-11-06T08:49:37Z',
      'Sun, 06 Nov 1994 08:49:37',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun, 31 Feb 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 24:00:00 GMT',
      'Sun, 06 Nov 1994 08:60:00 GMT',
      '',
      'yesterday',
    ]) {
      assert.equal(parseHttpDate(bad), undefined, bad);
    }
    assert.equal(parseHttpDate(undefined), undefined);
  });

  it('puts a two-digit year within 50 years from now', () => {
    const now = new Date().getUTCFullYear();
    const near = (now + 10) % 100;
    const far = (now + 60) % 100;
    const two = (n: number): string => String(n).padStart(2, '0');
    assert.equal(new Date(parseHttpDate(`Monday, 01-Jan-${two(near)} 00:00:00 GMT`)! * 1000).getUTCFullYear(), now + 10);
    assert.equal(new Date(parseHttpDate(`Monday, 01-Jan-${two(far)} 00:00:00 GMT`)! * 1000).getUTCFullYear(), now + 60 - 100);
  });
});
