import { Readable } from 'node:stream';
import type { Ctx } from '../../core/index.js';
import type { FetchHandler } from './load.js';

const DROPPED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'set-cookie']);

/**
 * serveFetch calls a fetch-style handler with a WHATWG Request made from the request
 * (the body streamed from ctx.body; the signal aborts when the client goes) and streams
 * the Response it returns, with backpressure.
 */
export async function serveFetch(ctx: Ctx, handler: FetchHandler): Promise<void> {
  const gone = new AbortController();
  const res = ctx.res;
  const onClose = (): void => {
    if (!res.writableFinished) gone.abort();
  };
  res.once('close', onClose);
  try {
    const response = await handler(toRequest(ctx, gone.signal));
    if (!(response instanceof Response)) throw new TypeError('the fetch handler did not return a Response');
    await writeResponse(ctx, response);
  } finally {
    res.off('close', onClose);
  }
}

function toRequest(ctx: Ctx, signal: AbortSignal): Request {
  const req = ctx.req;
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i], raw[i + 1]);
    } catch {
      /* a header fetch refuses */
    }
  }
  const method = ctx.method;
  const h = req.headers;
  const hasBody = method !== 'GET' && method !== 'HEAD' && (h['transfer-encoding'] !== undefined || (h['content-length'] ?? '0') !== '0');
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (hasBody) {
    init.body = Readable.toWeb(ctx.body) as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return new Request(urlOf(ctx), init);
}

function urlOf(ctx: Ctx): string {
  const host = ctx.req.headers.host;
  try {
    if (host) return new URL(ctx.uri, `${ctx.scheme}://${host}`).href;
  } catch {
    /* a Host header URL cannot hold */
  }
  const name = ctx.host.includes(':') ? `[${ctx.host}]` : ctx.host;
  return new URL(ctx.uri, `${ctx.scheme}://${name}:${ctx.conn.port}`).href;
}

async function writeResponse(ctx: Ctx, response: Response): Promise<void> {
  const res = ctx.res;
  for (const [name, value] of response.headers) if (!DROPPED.has(name)) res.setHeader(name, value);
  const cookies = response.headers.getSetCookie();
  if (cookies.length) res.setHeader('set-cookie', cookies);
  res.writeHead(response.status, response.statusText || undefined);
  if (!response.body || ctx.method === 'HEAD') {
    await response.body?.cancel();
    await new Promise<void>((resolve) => res.end(resolve));
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value) && !(await drained(res))) {
        await reader.cancel();
        return;
      }
    }
  } catch (e) {
    res.destroy(e as Error);
    return;
  }
  await new Promise<void>((resolve) => {
    res.once('close', resolve);
    res.end(resolve);
  });
}

/** drained waits for 'drain'; false when the response closed instead. */
function drained(res: Ctx['res']): Promise<boolean> {
  return new Promise((resolve) => {
    const ok = (): void => {
      res.off('close', no);
      resolve(true);
    };
    const no = (): void => {
      res.off('drain', ok);
      resolve(false);
    };
    res.once('drain', ok);
    res.once('close', no);
  });
}
