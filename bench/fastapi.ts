import { join } from 'node:path';
import { runAppScenario } from './app-server.js';
import { nginxUvicorn, uvicornAlone } from './app-stacks.js';
import { BENCH_APPS } from './paths.js';
import type { Section } from './report.js';

// Scenario `fastapi`: a real framework whose own time dominates: a FastAPI JSON endpoint with
// pydantic models (bench/apps/fastapi), served as ASGI, against Nginx -> Uvicorn with uvloop
// and httptools, and Uvicorn alone as an extra row.

/** runFastapi compares gatekit's asgi with Nginx -> Uvicorn on a FastAPI endpoint (target: at least 1.0x). */
export function runFastapi(): Promise<Section> {
  return runAppScenario({
    id: 'fastapi',
    about: 'a FastAPI JSON endpoint with pydantic models (bench/apps/fastapi)',
    app: { kind: 'asgi', dir: join(BENCH_APPS, 'fastapi'), callable: 'api:app', path: '/items/42?q=bench' },
    stacks: [nginxUvicorn('target'), uvicornAlone('extra', true)],
    respondReference: false,
    packages: ['fastapi', 'pydantic', 'starlette'],
  });
}
