import assert from 'node:assert/strict';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { checkGate, startGate, type TestGate } from './helpers/gate.js';
import { repoPath } from './helpers/paths.js';
import { freePort } from './helpers/ports.js';

/** samples lists every runnable sample: samples/*.gate and samples/<topic>/gatekit.gate. */
function samples(): string[] {
  const dir = repoPath('samples');
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isFile() && e.name.endsWith('.gate')) return [join(dir, e.name)];
    const f = join(dir, e.name, 'gatekit.gate');
    return e.isDirectory() && existsSync(f) ? [f] : [];
  });
}

/** portEnv gives every ${...PORT} a free port, so samples run side by side with anything. */
async function portEnv(text: string): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/\$\{([A-Z_]*PORT)\b/g)) env[m[1]] ??= String(await freePort());
  return env;
}

function httpsStatus(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('samples', () => {
  let gate: TestGate | undefined;
  afterEach(async () => {
    await gate?.close();
    gate = undefined;
  });

  for (const file of samples()) {
    const name = file.slice(repoPath('samples').length + 1);
    it(`${name} checks clean and answers on every listener`, async function () {
      const text = readFileSync(file, 'utf8');
      // Framework samples run on the venv .ci/run makes (Django, Flask, FastAPI): without it, say so.
      if (/\.venv\/bin\/python/.test(text) && !existsSync(repoPath('.venv', 'bin', 'python'))) this.skip();
      const env = await portEnv(text);
      assert.deepEqual(
        (await checkGate(text, { file, env })).map((d) => `${d.span.line}:${d.span.col} ${d.message}`),
        [],
      );
      gate = await startGate(text, { file, env });
      for (const a of gate.addresses) {
        if (a.path) continue;
        const status = a.tls ? await httpsStatus(a.port!) : (await fetch(`http://127.0.0.1:${a.port}/`, { redirect: 'manual' })).status;
        assert.ok(status > 0 && status < 500, `${a.key} answered ${status}`);
      }
    });
  }
});
