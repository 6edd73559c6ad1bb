import assert from 'node:assert/strict';
import { loadTestGate } from '../test/helpers/gate.js';
import { spanOf } from './spans.js';

/** col finds where `needle` starts in `text` (1-based), the n-th time it appears. */
const col = (text: string, needle: string, n = 1): number => {
  let at = -1;
  for (let i = 0; i < n; i++) at = text.indexOf(needle, at + 1);
  return at + 1;
};

describe('config spans', () => {
  it('tells plugins where each argument, option and repeated element was written', async () => {
    const text =
      'server { listen 80; proxy http://a:1 http://b:2 { upstream http://c:3 { weight 2 }; header_up set X-A v; header_up add X-B w; keepalive 4 } }';
    const loaded = await loadTestGate(text);
    assert.deepEqual(loaded.diagnostics, []);
    const cfg = loaded.config!.servers[0].routes[0].handler!.config as {
      upstreams: string[];
      upstream: { url: string }[];
      header_up: { header: string }[];
      keepalive: number;
    };
    const at = (o: object | undefined, k: string | number): number | undefined => spanOf(o, k)?.col;
    assert.equal(at(cfg, 'upstreams'), col(text, 'http://a:1'));
    assert.equal(at(cfg.upstreams, 1), col(text, 'http://b:2'));
    assert.equal(at(cfg.upstream[0], 'url'), col(text, 'http://c:3'));
    assert.equal(at(cfg.upstream, 0), col(text, 'upstream '), 'an option with options is where its name is');
    assert.equal(at(cfg.header_up[1], 'header'), col(text, 'X-B'));
    assert.equal(at(cfg.header_up, 1), col(text, 'header_up', 2));
    assert.equal(at(cfg, 'keepalive'), col(text, '4 }'), 'a one-argument option is where its argument is');
    assert.equal(at(cfg, 'balance'), undefined, 'nothing for what was not written');
    assert.equal(spanOf(undefined, 'x'), undefined);
  });
});
