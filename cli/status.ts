import { request } from 'node:http';
import { resolve } from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import type { Address } from '../dsl/schema.js';
import { loadConfig } from '../core/load.js';
import { EXIT, printDiagnostics, type Io } from './io.js';
import { statusText, type StatusView } from './status-table.js';

/** AdminTarget is where a config's admin API listens, and the token it wants. */
interface AdminTarget {
  readonly address: Address;
  readonly token?: string;
}

/** TOP_MS is how often `gatekit top` refreshes. */
const TOP_MS = 1000;

/**
 * statusCommand prints the running server's /status as tables (`status`), or refreshes them
 * every second with each worker's requests per second (`top`, until Ctrl-C). It finds the
 * admin address, and its token, in the config file.
 */
export async function statusCommand(mode: 'status' | 'top', file: string | undefined, root: DependencyContainer, io: Io): Promise<number> {
  const path = resolve(file ?? 'gatekit.gate');
  const loaded = await loadConfig(path, { root });
  if (!loaded.config) {
    printDiagnostics(io, loaded.diagnostics, loaded.sources);
    return EXIT.config;
  }
  const unit = loaded.config.globalUnits.find((u) => u.directive === 'admin');
  if (!unit) {
    io.err(`gatekit: ${path} has no admin address: add 'admin 127.0.0.1:2019' to its global block`);
    return EXIT.runtime;
  }
  const target = unit.config as unknown as AdminTarget;
  if (target.address.kind === 'tcp' && target.address.port === 0) {
    io.err(`gatekit: the admin address of ${path} has port 0: give it a fixed port or a unix socket`);
    return EXIT.runtime;
  }
  if (mode === 'status') {
    const s = await fetchStatus(target).catch((e: Error) => e);
    if (s instanceof Error) {
      io.err(`gatekit: ${s.message}`);
      return EXIT.runtime;
    }
    io.out(statusText(s));
    return EXIT.ok;
  }
  return top(target, io);
}

/** top reprints the status every second, with requests per second since the last frame. */
async function top(target: AdminTarget, io: Io): Promise<number> {
  let stop = false;
  const onInt = (): void => {
    stop = true;
  };
  process.once('SIGINT', onInt);
  let last: { at: number; requests: Map<number, number> } | undefined;
  while (!stop) {
    const s = await fetchStatus(target).catch((e: Error) => e);
    if (s instanceof Error) {
      process.off('SIGINT', onInt);
      io.err(`gatekit: ${s.message}`);
      return EXIT.runtime;
    }
    const now = Date.now();
    const requests = new Map(s.workers.filter((w) => w.pid !== null).map((w) => [w.pid!, w.requests]));
    const rates = new Map([...requests].map(([pid, n]) => [pid, last ? Math.max(0, n - (last.requests.get(pid) ?? n)) / ((now - last.at) / 1000) : 0]));
    last = { at: now, requests };
    io.out(`\x1b[H\x1b[2J${statusText(s, rates)}`);
    await new Promise((r) => setTimeout(r, TOP_MS));
  }
  return EXIT.ok;
}

/** fetchStatus asks the admin API for /status (bounded: 5 s). */
function fetchStatus(t: AdminTarget): Promise<StatusView> {
  const where =
    t.address.kind === 'unix' ? { socketPath: t.address.path } : { host: t.address.host?.replace(/^\[(.*)\]$/, '$1') ?? '127.0.0.1', port: t.address.port };
  return new Promise((done, fail) => {
    const req = request({ ...where, path: '/status', timeout: 5000, headers: t.token === undefined ? {} : { authorization: `Bearer ${t.token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) {
          fail(new Error(`the admin API at ${t.address.text} answered ${res.statusCode}: ${body.trim()}`));
          return;
        }
        try {
          done(JSON.parse(body) as StatusView);
        } catch (e) {
          fail(new Error(`the admin API at ${t.address.text} sent no JSON: ${(e as Error).message}`));
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e) =>
      fail(new Error(`no admin API answers at ${t.address.text} (${(e as NodeJS.ErrnoException).code ?? e.message}): is the server running?`)),
    );
    req.end();
  });
}
