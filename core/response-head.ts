import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';

type HeadArg = OutgoingHttpHeaders | OutgoingHttpHeader[] | readonly (readonly [string, OutgoingHttpHeader])[];

/**
 * beforeHead runs `fn` just before the response head goes out, with every header already on
 * the response (those passed to writeHead merged in, as Node itself would merge them), so
 * `fn` may read and change them. Node's implicit head (first write or end) goes through it too.
 */
export function beforeHead(res: ServerResponse, fn: (res: ServerResponse) => void): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, status: number, reason?: string | HeadArg, headers?: HeadArg) {
    if (typeof reason !== 'string') { headers = reason; reason = undefined; }
    if (headers) mergeHeaders(this, headers);
    this.statusCode = status;
    if (reason !== undefined) this.statusMessage = reason;
    fn(this);
    return writeHead.call(this, this.statusCode);
  } as typeof res.writeHead;
}

/** mergeHeaders applies writeHead's headers to the response: they replace same-named ones, and a raw list keeps its duplicates. */
function mergeHeaders(res: ServerResponse, headers: HeadArg): void {
  if (!Array.isArray(headers)) {
    for (const [k, v] of Object.entries(headers as OutgoingHttpHeaders)) if (v !== undefined) res.setHeader(k, v);
    return;
  }
  const pairs: [string, OutgoingHttpHeader][] = [];
  if (headers.length && Array.isArray(headers[0])) for (const [k, v] of headers as [string, OutgoingHttpHeader][]) pairs.push([k, v]);
  else for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([String(headers[i]), headers[i + 1] as OutgoingHttpHeader]);
  for (const [k] of pairs) res.removeHeader(k);
  for (const [k, v] of pairs) if (k) res.appendHeader(k, v as string | string[]);
}
