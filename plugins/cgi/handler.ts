import { readFileSync, statSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { delimiter, dirname, extname, join, resolve } from 'node:path';
import { diagnostic, HttpError, spanOf, type Ctx, type Diagnostic, type HandlerUnit, type Logger, type Span, type UnitReport } from '../../core/index.js';
import { bodyBuffering, bufferBody, localRedirect, type BodyBuffering } from '../../lib/index.js';
import { baseEnv, metaVariables, type EnvBase, type Site } from './environ.js';
import { feedInput, hasBody, readHead, sendRaw, sendResponse } from './exchange.js';
import { NphHeadParser } from './nph-head.js';
import { forkLauncher, type Launcher, type ScriptProcess } from './process.js';
import { locateScript, mountedProgram, OutsideLink, type Interpreters, type Script } from './resolve.js';
import type { CgiConfig } from './schema.js';
import { Slots } from './slots.js';
import { HelperLauncher } from './spawner.js';

/**
 * CgiUnit runs the scripts of one CGI folder, or the one program a route mounts, one
 * process (group) per request: it finds the script, builds its environment, streams the
 * body to it and its answer back, and keeps the number of scripts running under
 * `max_processes`.
 */
export class CgiUnit implements HandlerUnit {
  private readonly dir: string;
  private realDir: string;
  /** program is true when PATH names one program (every request runs it), not a folder. */
  private program = false;
  private readonly timeout: number;
  private readonly slots: Slots;
  private readonly buffering: BodyBuffering;
  private readonly live = new Set<ScriptProcess>();
  private interpreters: Interpreters = new Map();
  private base: EnvBase = {};
  private site: Site;
  private launch: Launcher;
  private helper: HelperLauncher | undefined;
  private closed = false;

  constructor(
    private readonly cfg: CgiConfig,
    private readonly at: Span,
    private readonly log: Logger,
  ) {
    this.dir = resolve(cfg.path).replace(/\/$/, '') || '/';
    this.realDir = this.dir;
    this.timeout = cfg.timeout;
    this.slots = new Slots(cfg.max_processes, cfg.queue_timeout);
    this.buffering = bodyBuffering(cfg);
    this.site = { software: 'gatekit', documentRoot: resolve(cfg.document_root ?? this.dir), passAuth: cfg.pass_auth };
    this.launch = forkLauncher(log);
  }

  validate(): Diagnostic[] {
    const out: Diagnostic[] = [];
    const st = statSync(this.dir, { throwIfNoEntry: false });
    const pathAt = spanOf(this.cfg, 'path') ?? this.at;
    if (!st)
      out.push(
        diagnostic(
          'GK_CGI_DIR',
          `cgi path '${this.cfg.path}' does not exist`,
          pathAt,
          'create the folder, or fix the path (relative paths start at the .gate file)',
        ),
      );
    else if (!st.isDirectory() && !(st.isFile() && ((st.mode & 0o111) !== 0 || (this.cfg.interpreter ?? []).some((i) => i.extension === extname(this.dir))))) {
      out.push(
        diagnostic(
          'GK_CGI_DIR',
          `cgi path '${this.cfg.path}' is neither a folder nor an executable program`,
          pathAt,
          'name a folder of scripts, or a program gatekit may run (chmod +x, or an interpreter for its extension)',
        ),
      );
    }
    for (const [i, { extension, command }] of (this.cfg.interpreter ?? []).entries()) {
      const at = spanOf(this.cfg.interpreter, i) ?? this.at;
      if (!/^\.[^./]+$/.test(extension)) out.push(diagnostic('GK_CGI_INTERPRETER', `interpreter extension '${extension}' must look like '.py'`, at));
      if (!findCommand(command[0])) out.push(diagnostic('GK_CGI_INTERPRETER', `interpreter '${command[0]}' for '${extension}' is not found on PATH`, at));
    }
    const names = [...(this.cfg.pass_env ?? []).flat(), ...(this.cfg.env ?? []).map((e) => e.name)];
    if (names.some((n) => n.toUpperCase() === 'HTTP_PROXY')) {
      out.push(
        diagnostic(
          'GK_CGI_HTTPOXY',
          'scripts never get HTTP_PROXY: clients can set it with a Proxy header (httpoxy)',
          this.at,
          'pass the proxy under another name',
        ),
      );
    }
    if (this.cfg.spawner === 'helper' && !findCommand('python3')) {
      out.push(
        diagnostic(
          'GK_CGI_SPAWNER',
          'spawner helper needs python3 on PATH, and it is not there',
          spanOf(this.cfg, 'spawner') ?? this.at,
          'install python3, or use spawner fork',
        ),
      );
    }
    return out;
  }

  async provision(): Promise<void> {
    this.realDir = await realpath(this.dir).catch(() => this.dir);
    this.program = statSync(this.dir, { throwIfNoEntry: false })?.isFile() ?? false;
    const map = new Map<string, readonly string[]>();
    for (const { extension, command } of this.cfg.interpreter ?? []) map.set(extension, [findCommand(command[0]) ?? command[0], ...command.slice(1)]);
    this.interpreters = map;
    this.base = baseEnv(
      (this.cfg.pass_env ?? []).flat(),
      (this.cfg.env ?? []).map((e) => [e.name, e.value] as const),
    );
    // PATH_INFO of a mounted program maps into the program's folder unless document_root says
    const documentRoot = this.program && this.cfg.document_root === undefined ? dirname(this.dir) : this.site.documentRoot;
    this.site = { ...this.site, documentRoot, software: `gatekit/${version()}` };
    await this.startSpawner();
  }

  /** startSpawner starts the posix_spawn helper unless `spawner fork`; `auto` forks when it cannot start. */
  private async startSpawner(): Promise<void> {
    const mode = this.cfg.spawner;
    if (mode === 'fork') return;
    const python = findCommand('python3');
    try {
      if (!python) throw new Error('python3 is not on PATH');
      // A helper that cannot start a script within the script's own time (1 to 5 s) is stuck.
      this.helper = await HelperLauncher.start(python, this.log, this.launch, Math.min(Math.max(this.timeout, 1000), 5000));
      this.launch = this.helper.launch;
    } catch (e) {
      if (mode === 'helper') throw e;
      this.log.warn(`CGI scripts start by fork: the spawn helper could not start (${(e as Error).message})`);
    }
  }

  /** report shows the scripts running and waiting in this worker, and its spawn helper (admin). */
  report(): UnitReport {
    const processes = this.helper ? [{ pid: this.helper.pid, state: 'spawn helper' }] : [];
    return {
      pools: [{ name: `cgi ${this.cfg.path}`, kind: 'cgi', size: this.cfg.max_processes, processes, busy: this.slots.running, queue: this.slots.waiting }],
    };
  }

  async handle(ctx: Ctx): Promise<void> {
    if (this.closed) throw new HttpError(503, 'shutting down');
    const script = this.locate(ctx);
    const body = this.buffering.enabled ? await bufferBody(ctx, this.buffering) : undefined; // before a slot and the timeout
    const gone = new AbortController();
    const onGone = (): void => gone.abort();
    ctx.res.once('close', onGone);
    const release = await this.slots.take(gone.signal).finally(() => ctx.res.off('close', onGone));
    let proc: ScriptProcess;
    const input = body ? body.length > 0 : hasBody(ctx);
    const env = metaVariables(ctx, script, this.base, this.site);
    if (body) env.CONTENT_LENGTH = String(body.length);
    try {
      proc = this.launch(script, env, input);
    } catch (e) {
      release();
      throw new HttpError(502, `could not start CGI script ${script.name}`, { cause: e });
    }
    await this.exchange(ctx, script, proc, input, release);
  }

  /** locate finds the request's script: the mounted program, or a script in the folder; a symlink refused is logged, once. */
  private locate(ctx: Ctx): Script {
    if (this.program) return mountedProgram(this.dir, ctx.pathInMount, ctx.rawPath, this.interpreters);
    try {
      return locateScript(this.dir, this.realDir, ctx.pathInMount, ctx.rawPath, this.interpreters, this.cfg.follow_symlinks);
    } catch (e) {
      if (e instanceof OutsideLink) {
        this.log.warn(`refused CGI script ${ctx.mount}${e.script}: a symlink to ${e.target}, outside ${this.dir}; 'follow_symlinks on' runs it`, {
          request_id: ctx.requestId,
          uri: ctx.uri,
        });
      }
      throw e;
    }
  }

  /** exchange runs one script to the end of its response; its slot is freed when its process is gone. */
  private async exchange(ctx: Ctx, script: Script, proc: ScriptProcess, input: boolean, release: () => void): Promise<void> {
    this.live.add(proc);
    const watch = { timedOut: false, inputError: undefined as Error | undefined };
    const timer = setTimeout(() => {
      watch.timedOut = true;
      proc.kill();
    }, this.timeout);
    void proc.exited.then(() => {
      // the script is gone: end what it left behind in its group (bounded by the timer until now)
      clearTimeout(timer);
      proc.kill();
      this.live.delete(proc);
      release();
    });
    const onClose = (): void => {
      if (!ctx.res.writableFinished) proc.kill();
    };
    ctx.res.once('close', onClose);
    try {
      await proc.started;
    } catch (e) {
      ctx.res.off('close', onClose);
      await proc.exited;
      if (watch.timedOut) throw new HttpError(504, `CGI script ${script.name} timed out before it started`);
      throw new HttpError(502, `could not start CGI script ${script.name}`, { cause: e });
    }
    let location: string;
    try {
      if (input)
        feedInput(ctx, proc.stdin!, (e) => {
          watch.inputError ??= e;
          proc.kill();
        });
      // an nph- script writes for an HTTP/1.x connection: an HTTP/2 stream gets its head read and re-sent
      const raw = script.nph && ctx.req.httpVersionMajor < 2;
      if (raw) return await sendRaw(ctx, ctx.takeSocket(), proc.stdout, watch);
      const { head, rest } = await readHead(proc, watch, script.name, script.nph ? new NphHeadParser() : undefined);
      if (!head.localRedirect) return await sendResponse(ctx, head, rest, proc.stdout, watch, this.log);
      location = head.location!;
      ctx.res.off('close', onClose);
      proc.stdout.resume(); // a local redirect's body is discarded
    } catch (e) {
      proc.kill();
      throw e;
    }
    return localRedirect(ctx, location);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.slots.close();
    const procs = [...this.live];
    for (const p of procs) p.kill();
    await Promise.race([Promise.all(procs.map((p) => p.exited)), new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.helper?.close();
  }
}

/** findCommand resolves a command name on gatekit's PATH (a path is taken as it is), or undefined. */
function findCommand(command: string): string | undefined {
  const isFile = (f: string): boolean => statSync(f, { throwIfNoEntry: false })?.isFile() ?? false;
  if (command.includes('/')) return isFile(resolve(command)) ? resolve(command) : undefined;
  for (const d of (process.env.PATH ?? '').split(delimiter)) if (d && isFile(join(d, command))) return join(d, command);
  return undefined;
}

let pkgVersion: string | undefined;
/** version is gatekit's package version, for SERVER_SOFTWARE. */
function version(): string {
  if (pkgVersion === undefined) {
    try {
      const url = new URL('../../../package.json', import.meta.url);
      pkgVersion = (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version ?? '0';
    } catch {
      pkgVersion = '0';
    }
  }
  return pkgVersion;
}
