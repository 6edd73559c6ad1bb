import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { adminUrl } from '../helpers/admin.js';
import { serve, type Served } from '../helpers/cli.js';
import { repoPath } from '../helpers/paths.js';
import { upstream, type TestUpstream } from '../integration/proxy-upstreams.js';

const CHROMIUM = '/usr/bin/chromium';
const LISTENING = /listening (?:worker=\d+ )?url=http:\/\/127\.0\.0\.1:(\d+)/;
/** SCREENSHOT is where the test leaves its picture of the dashboard (dist/ is not committed). */
const SCREENSHOT = repoPath('dist', 'test-artifacts', 'admin-dashboard.png');

describe('admin dashboard in a real browser', function () {
  this.timeout(60_000);
  let dir: string;
  let served: Served | undefined;
  let browser: Browser | undefined;
  let traffic: NodeJS.Timeout | undefined;
  const ups: TestUpstream[] = [];

  before(function () {
    if (!existsSync(CHROMIUM)) {
      console.log(`      skipped: ${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
      this.skip();
    }
  });
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatekit-dashboard-'));
  });
  afterEach(async () => {
    clearInterval(traffic);
    await browser?.close();
    browser = undefined;
    await served?.stop();
    served = undefined;
    for (const u of ups.splice(0)) await u.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows the numbers moving under traffic, drains an upstream with a click, and reloads', async () => {
    const a = await upstream((_req, res) => res.end('a'));
    const b = await upstream((_req, res) => res.end('b'));
    ups.push(a, b);
    const file = join(dir, 'site.gate');
    writeFileSync(
      file,
      `global { workers 2; admin 127.0.0.1:0 }\nserver { listen 127.0.0.1:0\n  route /p/ { proxy ${a.url} ${b.url} }\n  route = /health { respond "ok" }\n}\n`,
    );
    served = serve(['run', file]);
    const admin = await adminUrl(served);
    const site = `http://127.0.0.1:${(await served.waitFor(LISTENING, 10_000))[1]}`;
    await served.waitFor(/master running/, 10_000);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const outside: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(admin.replace(/\/$/, '')) && !r.url().startsWith('ws://127.0.0.1')) outside.push(r.url());
    });
    await page.goto(admin);
    // the page opens before any request was served (its charts start empty), then traffic comes
    await page
      .locator('#summary', { hasText: 'generation 1' })
      .waitFor({ timeout: 15_000 })
      .catch((e: Error) => {
        throw new Error(`the dashboard shows no status: ${errors.join('; ') || e.message}`);
      });
    // steady traffic, one request at a time, for as long as the test runs
    let busy = false;
    traffic = setInterval(() => {
      if (busy) return;
      busy = true;
      void Promise.all([fetch(`${site}/p/`), fetch(`${site}/health`)])
        .then((rs) => Promise.all(rs.map((r) => r.text())))
        .finally(() => {
          busy = false;
        });
    }, 20);

    // the numbers move: the served count grows and a rate shows, fed by the WebSocket
    const first = await numberAbove(page, '#requests-total', 0);
    await numberAbove(page, '#requests-total', first);
    await numberAbove(page, '#rps-total', 0);
    await page.waitForSelector('#chart-rps .uplot');
    await page.waitForSelector(`#codes tbody tr:has-text("= /health")`);
    assert.equal(await page.locator('#workers tbody tr').count(), 2);

    // drain upstream a: its row says so, and it gets no request after the API answered
    const rowA = page.locator(`#upstreams tr[data-upstream="127.0.0.1:${a.port}"]`);
    await rowA.locator('button.drain').click();
    await rowA.locator('td.health', { hasText: 'drained' }).waitFor();
    const seen = a.requests;
    const bBefore = b.requests;
    await waitFor([a, b], () => b.requests >= bBefore + 10);
    assert.equal(a.requests, seen);
    await rowA.locator('button.enable').click();
    await rowA.locator('td.health', { hasText: 'healthy' }).waitFor();
    await waitFor([a, b], () => a.requests > seen);

    // reload: the verdict shows, and the next status says generation 2
    await page.click('#reload');
    await page.locator('#reload-result', { hasText: 'reloaded' }).waitFor({ timeout: 20_000 });
    await page.locator('#summary', { hasText: 'generation 2' }).waitFor();

    mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    assert.ok(statSync(SCREENSHOT).size > 10_000);
    assert.deepEqual(errors, []);
    assert.deepEqual(outside, []); // no CDN, nothing off the admin address
  });
});

/** numberAbove waits until the number shown in `selector` is above `min`, and returns it. */
async function numberAbove(page: Page, selector: string, min: number): Promise<number> {
  const handle = await page.waitForFunction(
    ({ sel, least }) => {
      const n = Number(document.querySelector(sel)?.textContent);
      return Number.isFinite(n) && n > least ? n : false;
    },
    { sel: selector, least: min },
    { timeout: 15_000 },
  );
  return (await handle.jsonValue()) as number;
}

/** waitFor waits for a condition on the test upstreams' counters, checked as each request arrives there (at most 10 s). */
function waitFor(servers: readonly TestUpstream[], cond: () => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (cond()) {
        done();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('timed out waiting for upstream requests'));
    }, 10_000);
    const done = (): void => {
      clearTimeout(timer);
      for (const u of servers) u.server.off('request', check);
    };
    for (const u of servers) u.server.on('request', check);
    check();
  });
}
