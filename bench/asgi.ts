import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Section } from './report.js';
import { runPythonPeer, VENV } from './python-peer.js';

// Scenario `asgi`: samples/asgi-hello through gatekit's asgi pool and through Uvicorn (from
// the venv .ci/run makes), the same number of Python processes each.

/** uvicornParser says which HTTP parser Uvicorn picks in the venv (httptools when installed, else h11). */
function uvicornParser(): string {
  const site = join(VENV, '..', 'lib');
  const has = (name: string): boolean => readdirSync(site).some((py) => existsSync(join(site, py, 'site-packages', name)));
  return `(${has('httptools') ? 'httptools' : 'h11'} parser, ${has('uvloop') ? 'uvloop' : 'asyncio'} loop)`;
}

/** runAsgi compares gatekit's asgi with Uvicorn (target: at least 1.0x). */
export function runAsgi(): Promise<Section> {
  return runPythonPeer({
    kind: 'asgi', sample: 'asgi-hello', target: 1.0,
    peer: {
      bin: 'uvicorn', label: 'Uvicorn', name: (procs) => `uvicorn, ${procs} workers`,
      args: (procs, port, appDir) => ['--workers', String(procs), '--host', '127.0.0.1', '--port', String(port), '--app-dir', appDir, '--log-level', 'warning', '--no-access-log', 'hello:application'],
    },
    note: `Uvicorn ${uvicornParser()} parses HTTP in each Python worker; gatekit parses HTTP in Node and opens one unix-socket connection to the pool per request, which the Python workers' event loops accept concurrently.`,
  });
}
