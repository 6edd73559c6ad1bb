import { join } from 'node:path';
import { runAppScenario } from './app-server.js';
import { nginxUvicorn, uvicornAlone } from './app-stacks.js';
import { BENCH_APPS } from './paths.js';
import type { Section } from './report.js';

// Scenario `asgi`: a trivial ASGI app, so that the servers' own cost shows. The target is
// Nginx -> Uvicorn with uvloop and httptools (`uvicorn[standard]`, as FastAPI's docs install
// it), the stretch target that Uvicorn alone; Uvicorn on asyncio and h11 is an extra row.

/** runAsgi compares gatekit's asgi with Nginx -> Uvicorn (target: at least 1.0x) and Uvicorn alone (stretch). */
export function runAsgi(): Promise<Section> {
  return runAppScenario({
    id: 'asgi',
    about: 'a trivial ASGI app (bench/apps/hello)',
    app: { kind: 'asgi', dir: join(BENCH_APPS, 'hello'), callable: 'hello_asgi:application', path: '/' },
    stacks: [nginxUvicorn('target'), uvicornAlone('stretch', true), uvicornAlone('extra', false)],
    respondReference: true,
    packages: [],
  });
}
