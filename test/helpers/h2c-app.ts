import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ClientHttp2Session } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGate, type TestGate } from './gate.js';
import { h2Session } from './h2-client.js';

/**
 * h2cApp registers before/after hooks that run `app` (the source of a Node request-listener
 * module) behind a one-process gate on a cleartext HTTP/2 address, with one client session
 * open to it; it returns that session's getter, for the suite's tests.
 */
export function h2cApp(app: string): () => ClientHttp2Session {
  let dir: string | undefined;
  let gate: TestGate | undefined;
  let session: ClientHttp2Session | undefined;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gk-h2c-app-'));
    writeFileSync(join(dir, 'app.mjs'), app);
    gate = await startGate(`global { workers 0 }\nserver { listen 127.0.0.1:0 h2c; app ${join(dir, 'app.mjs')} }`);
    session = await h2Session(`http://127.0.0.1:${gate.port}`);
  });
  after(async () => {
    session?.close();
    await gate?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => session!;
}
