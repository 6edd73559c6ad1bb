import type { IncomingMessage, ServerResponse } from 'node:http';
import { gatekitVersion, type MasterControl, type ReloadReport } from '../../core/index.js';
import { isJson, sameOrigin, type TokenCheck } from './access.js';
import { assetAt } from './assets.js';
import type { RetiredTotals } from './retired.js';
import { statusJson } from './status.js';

/** MAX_BODY is the largest request body the API reads (a config text). */
const MAX_BODY = 4 * 1024 * 1024;

/** ApiSettings are the parts of `admin` a request reads: they change on reload. */
export interface ApiSettings {
  readonly token: TokenCheck;
  /** writeConfig: POST /config rewrites the file on disk once the new text is served. */
  readonly writeConfig: boolean;
  /** persist writes a served config text to the file (write_config on). */
  persist(file: string, text: string): void;
}

/** ApiError is an answer other than 200, with a message for the client. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

type Route = (req: IncomingMessage, url: URL) => Promise<Answer>;
type Answer = { status?: number; json?: unknown; text?: string; type?: string };

const UPSTREAM = /^\/upstreams\/([^/]+)\/(drain|enable)$/;

/**
 * AdminApi answers the admin address's requests: the dashboard's files, and the JSON API.
 * Reading needs the token when one is set; changing also needs a JSON body and no foreign
 * Origin (CSRF).
 */
export class AdminApi {
  private readonly version = gatekitVersion();

  constructor(
    private readonly control: MasterControl,
    private readonly settings: () => ApiSettings,
    private readonly retired: RetiredTotals,
  ) {}

  /** handle answers one request; it never throws. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let a: Answer;
    try {
      a = await this.answer(req);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, (e as Error).message);
      for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
      a = { status: err.status, json: { error: err.message } };
    }
    const body = a.json !== undefined ? `${JSON.stringify(a.json, null, 2)}\n` : (a.text ?? '');
    res.writeHead(a.status ?? 200, {
      'content-type': a.json !== undefined ? 'application/json' : (a.type ?? 'text/plain; charset=utf-8'),
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private async answer(req: IncomingMessage): Promise<Answer> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const get = req.method === 'GET' || req.method === 'HEAD';
    const asset = get ? assetAt(url.pathname) : undefined;
    if (asset) return { text: asset.body.toString('utf8'), type: asset.type }; // the page holds no data: it asks for the token
    const s = this.settings();
    if (!s.token.allows(req))
      throw new ApiError(401, 'this admin API needs Authorization: Bearer TOKEN', { 'www-authenticate': 'Bearer realm="gatekit admin"' });
    const [methods, route] = this.route(url.pathname);
    if (!route) throw new ApiError(404, `no admin endpoint ${url.pathname}`);
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? '');
    if (!methods.includes(method)) throw new ApiError(405, `${url.pathname} takes ${methods.join(', ')}`, { allow: methods.join(', ') });
    if (method === 'POST') {
      if (!sameOrigin(req)) throw new ApiError(403, `requests from ${req.headers.origin} may not change this server`);
      if (!isJson(req)) throw new ApiError(415, 'a request that changes something needs a JSON body (Content-Type: application/json)');
    }
    return route(req, url);
  }

  /** route finds the methods and the handler of a path; POST /config and GET /config share one. */
  private route(path: string): [readonly string[], Route | undefined] {
    switch (path) {
      case '/status':
        return [['GET'], async () => ({ json: statusJson(this.control.status(), await this.control.workerStats(), this.version) })];
      case '/metrics':
        return [['GET'], (req) => this.metrics(req)];
      case '/reload':
        return [
          ['POST'],
          async (req) => {
            await readJson(req);
            return reloadAnswer(await this.control.reload());
          },
        ];
      case '/config':
        return [['GET', 'POST'], (req) => (req.method === 'POST' ? this.postConfig(req) : Promise.resolve({ text: this.control.configText().text }))];
      case '/routes':
        return [['GET'], (_req, url) => Promise.resolve({ json: this.control.route(url.searchParams.get('host') ?? '', url.searchParams.get('path') ?? '/') })];
    }
    const m = UPSTREAM.exec(path);
    if (m) return [['POST'], (req) => this.drain(req, decodeURIComponent(m[1]), m[2] === 'drain')];
    return [[], undefined];
  }

  private async metrics(req: IncomingMessage): Promise<Answer> {
    const workers = await this.control.workerStats();
    const master = this.control.status();
    const { exposition, wantsOpenMetrics } = await import('./exposition.js'); // prom-client loads once /metrics is asked for
    const { contentType, text } = await exposition(master, this.version, this.retired.with(workers, master), wantsOpenMetrics(req.headers.accept));
    return { text, type: contentType };
  }

  private async postConfig(req: IncomingMessage): Promise<Answer> {
    const body = await readJson(req);
    const text = (body as { config?: unknown } | null)?.config;
    if (typeof text !== 'string') throw new ApiError(400, 'the body must be {"config": "<the .gate text>"}');
    const r = await this.control.reload(text);
    const s = this.settings();
    if (r.outcome === 'reloaded' && s.writeConfig) s.persist(this.control.configText().file, text);
    return reloadAnswer(r, s.writeConfig && r.outcome === 'reloaded');
  }

  private async drain(req: IncomingMessage, id: string, drained: boolean): Promise<Answer> {
    await readJson(req);
    const workers = await this.control.drainUpstream(id, drained);
    if (!workers) throw new ApiError(404, `no proxy has an upstream '${id}'`);
    return { json: { upstream: id, drained, workers } };
  }
}

/** reloadAnswer is a reload's verdict as an answer: 200 served, 422 refused (with diagnostics), 500 failed. */
function reloadAnswer(r: ReloadReport, written?: boolean): Answer {
  const status = r.outcome === 'reloaded' ? 200 : r.outcome === 'refused' ? 422 : 500;
  return { status, json: { ...r, at: new Date(r.at).toISOString(), ...(written === undefined ? {} : { written }) } };
}

/** readJson reads a request's body as JSON (empty: null), up to MAX_BODY. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new ApiError(413, `a body is at most ${MAX_BODY} bytes`);
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `the body is not JSON: ${(e as Error).message}`);
  }
}
