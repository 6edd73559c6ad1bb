import { existsSync, lstatSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { gatekitVersion, type Address, type MasterControl, type MasterDirective, type Resident, type ResidentContext } from '../../core/index.js';
import { TokenCheck } from './access.js';
import { AdminApi, type ApiSettings } from './api.js';
import { History } from './history.js';
import { LiveFeed } from './live.js';
import { RetiredTotals } from './retired.js';
import type { AdminConfig } from './schema.js';
import { statusJson } from './status.js';

/** SAMPLE_MS is how often the master samples the workers' numbers for the dashboard's charts. */
const SAMPLE_MS = 1000;

/**
 * AdminResident is `admin` in the master: the admin address's server, which lives across
 * reloads (a reload it answers does not close it), the dashboard's live feed, and the
 * sampling that feeds the charts. A reload that moves the address moves the server.
 */
export class AdminResident implements Resident<AdminConfig> {
  private server: Server | undefined;
  private address: string | undefined;
  private settings: ApiSettings;
  private readonly api: AdminApi;
  private readonly live: LiveFeed;
  private readonly history = new History();
  private readonly retired = new RetiredTotals();
  private readonly version = gatekitVersion();
  private sampler: NodeJS.Timeout | undefined;
  private lastStatus: object | undefined;
  private readonly control: MasterControl;

  constructor(private readonly ctx: ResidentContext) {
    this.control = ctx.control;
    this.settings = settingsOf(undefined);
    this.api = new AdminApi(this.control, () => this.settings, this.retired);
    this.live = new LiveFeed(
      () => this.settings.token,
      () => ({ history: this.history.all(), status: this.lastStatus }),
    );
  }

  async update(directives: readonly MasterDirective<AdminConfig>[]): Promise<void> {
    const cfg = directives[0]?.config;
    this.settings = settingsOf(cfg);
    if (cfg?.address.text === this.address) return;
    await this.close();
    if (!cfg) return;
    this.server = await listen(cfg.address, this.api, this.live);
    this.address = cfg.address.text;
    const bound = this.server.address();
    this.ctx.log.info('admin API ready', {
      url:
        typeof bound === 'string' || !bound
          ? `unix:${cfg.address.text.replace(/^unix:/, '')}`
          : `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}/`,
    });
    this.sampler = setInterval(() => void this.sample(), SAMPLE_MS);
    this.sampler.unref();
  }

  private async sample(): Promise<void> {
    try {
      const workers = await this.control.workerStats();
      const point = this.history.add(Date.now(), workers);
      const master = this.control.status();
      this.retired.with(workers, master); // keeps the last numbers of a worker about to exit
      this.lastStatus = statusJson(master, workers, this.version);
      if (point && this.live.watched) this.live.send({ type: 'tick', point, status: this.lastStatus });
    } catch (e) {
      this.ctx.log.error('admin sampling failed', { error: (e as Error).message });
    }
  }

  private async close(): Promise<void> {
    clearInterval(this.sampler);
    this.live.disconnect();
    const s = this.server;
    this.server = undefined;
    this.address = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  async stop(): Promise<void> {
    await this.close();
  }
}

function settingsOf(cfg: AdminConfig | undefined): ApiSettings {
  return { token: new TokenCheck(cfg?.token), writeConfig: cfg?.write_config === true, persist: writeAtomic };
}

/** writeAtomic replaces a file's text at once (write beside it, then rename), so no reader sees half. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** listen opens the admin address: a unix socket replaces a stale one, never another kind of file. */
async function listen(a: Address, api: AdminApi, live: LiveFeed): Promise<Server> {
  const server = createServer((req, res) => void api.handle(req, res));
  server.on('upgrade', (req, socket, head) => live.upgrade(req, socket, head));
  server.on('clientError', (_e, socket) => socket.destroy());
  if (a.kind === 'unix' && existsSync(a.path) && lstatSync(a.path).isSocket()) unlinkSync(a.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new Error(`admin cannot listen on ${a.text}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    if (a.kind === 'unix') server.listen(a.path, resolve);
    else server.listen({ port: a.port, ...(a.host === undefined ? {} : { host: a.host.replace(/^\[(.*)\]$/, '$1') }) }, resolve);
  });
  return server;
}
