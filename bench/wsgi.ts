import type { Section } from './report.js';
import { runPythonPeer } from './python-peer.js';

// Scenario `wsgi`: samples/wsgi-hello through gatekit's wsgi pool and through Gunicorn's sync
// workers (from the venv .ci/run makes), the same number of Python processes each.

/** runWsgi compares gatekit's wsgi with Gunicorn's sync workers (target: at least 1.2x). */
export function runWsgi(): Promise<Section> {
  return runPythonPeer({
    kind: 'wsgi', sample: 'wsgi-hello', target: 1.2,
    peer: {
      bin: 'gunicorn', label: 'Gunicorn sync workers', name: (procs) => `gunicorn sync, ${procs} workers`,
      args: (procs, port, appDir) => ['--workers', String(procs), '--worker-class', 'sync', '--bind', `127.0.0.1:${port}`, '--chdir', appDir, '--log-level', 'warning', 'hello:application'],
    },
    note: "Gunicorn's sync workers close each connection (no keep-alive), gatekit keeps client connections alive and opens one unix-socket connection to the pool per request.",
  });
}
