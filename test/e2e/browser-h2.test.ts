import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { selfSigned } from '../../plugins/tls/self-signed.js';
import { startGate, type TestGate } from '../helpers/gate.js';

const CHROMIUM = '/usr/bin/chromium';
const ASSETS = 50;

/** page writes a static site whose index loads ASSETS files: stylesheets, scripts and images. */
function site(root: string): void {
  mkdirSync(join(root, 'assets'));
  const tags: string[] = [];
  for (let i = 0; i < ASSETS; i++) {
    if (i % 3 === 0) {
      writeFileSync(join(root, 'assets', `s${i}.css`), `.c${i} { color: #${(i * 4999).toString(16).padStart(6, '0').slice(0, 6)} }\n`);
      tags.push(`<link rel="stylesheet" href="/assets/s${i}.css">`);
    } else if (i % 3 === 1) {
      writeFileSync(join(root, 'assets', `j${i}.js`), `window.loaded = (window.loaded || 0) + 1;\n`);
      tags.push(`<script src="/assets/j${i}.js"></script>`);
    } else {
      writeFileSync(
        join(root, 'assets', `i${i}.svg`),
        `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20"><rect width="20" height="20" fill="hsl(${i * 7},70%,50%)"/></svg>\n`,
      );
      tags.push(`<img src="/assets/i${i}.svg" width="20" height="20" alt="">`);
    }
  }
  writeFileSync(
    join(root, 'index.html'),
    `<!doctype html><html><head><meta charset="utf-8"><title>h2</title></head><body><h1>fifty assets over HTTP/2</h1>\n${tags.join('\n')}\n</body></html>\n`,
  );
}

describe('a browser loads a static site over HTTP/2', function () {
  this.timeout(60_000);
  let dir: string;
  let gate: TestGate | undefined;
  let browser: Browser | undefined;

  before(function () {
    if (!existsSync(CHROMIUM)) this.skip(); // Debian's chromium: apt-get install -y chromium (.ci/run installs it)
    dir = mkdtempSync(join(tmpdir(), 'gatekit-browser-h2-'));
    const pair = selfSigned(['localhost']);
    writeFileSync(join(dir, 'c.pem'), pair.cert);
    writeFileSync(join(dir, 'c.key'), pair.key);
    mkdirSync(join(dir, 'site'));
    site(join(dir, 'site'));
  });
  afterEach(async () => {
    await browser?.close();
    await gate?.close();
    browser = gate = undefined;
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('fetches the page and its 50 assets on h2, over TLS, and renders them (screenshot)', async () => {
    gate = await startGate(`server { listen 127.0.0.1:0 tls; tls { cert ${dir}/c.pem; key ${dir}/c.key }; static ${dir}/site }`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    const res = await page.goto(`https://localhost:${gate.port}/`, { waitUntil: 'load' });
    assert.equal(res?.status(), 200);
    const seen = await page.evaluate(() => ({
      page: (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).nextHopProtocol,
      assets: performance.getEntriesByType('resource').map((e) => [new URL(e.name).pathname, (e as PerformanceResourceTiming).nextHopProtocol]),
      scripts: (window as unknown as { loaded?: number }).loaded,
    }));
    assert.equal(seen.page, 'h2');
    // every fetch is on h2 (the browser may fetch more than the page names, /favicon.ico say)
    assert.deepEqual(
      seen.assets.filter(([, p]) => p !== 'h2'),
      [],
    );
    assert.equal(new Set(seen.assets.map(([path]) => path).filter((path) => path.startsWith('/assets/'))).size, ASSETS, JSON.stringify(seen.assets));
    assert.equal(seen.scripts, Math.floor((ASSETS + 1) / 3)); // every script ran
    const shot = join(dir, 'page.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(
      readFileSync(shot)
        .subarray(0, 8)
        .equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])),
      'a PNG screenshot',
    );
  });
});
