import { join } from 'node:path';
import { runAppScenario } from './app-server.js';
import { nginxUwsgi } from './app-stacks.js';
import { BENCH_APPS } from './paths.js';
import type { Section } from './report.js';

// Scenario `django`: a real framework whose own time dominates: a Django view rendering a
// template (bench/apps/django), served as WSGI, against Nginx -> uWSGI.

/** runDjango compares gatekit's wsgi with Nginx -> uWSGI on a Django page (target: at least 1.0x). */
export function runDjango(): Promise<Section> {
  return runAppScenario({
    id: 'django',
    about: 'a Django view rendering a template (bench/apps/django)',
    app: { kind: 'wsgi', dir: join(BENCH_APPS, 'django'), callable: 'benchsite.wsgi:application', path: '/catalog/' },
    stacks: [nginxUwsgi('target')],
    respondReference: false,
    packages: ['django'],
  });
}
