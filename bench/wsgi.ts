import { join } from 'node:path';
import { runAppScenario } from './app-server.js';
import { gunicornAlone, nginxGunicorn, nginxUwsgi } from './app-stacks.js';
import { BENCH_APPS } from './paths.js';
import type { Section } from './report.js';

// Scenario `wsgi`: a trivial WSGI app, so that the servers' own cost shows. The target is
// Nginx -> uWSGI, the stack gatekit's wsgi replaces; Gunicorn's sync workers are extra rows.

/** runWsgi compares gatekit's wsgi with Nginx -> uWSGI (target: at least 1.0x) and with Gunicorn. */
export function runWsgi(): Promise<Section> {
  return runAppScenario({
    id: 'wsgi',
    about: 'a trivial WSGI app (bench/apps/hello)',
    app: { kind: 'wsgi', dir: join(BENCH_APPS, 'hello'), callable: 'hello_wsgi:application', path: '/' },
    stacks: [nginxUwsgi('target'), nginxGunicorn('extra'), gunicornAlone('extra')],
    respondReference: true,
    packages: [],
  });
}
