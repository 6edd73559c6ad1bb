import type { OutgoingHttpHeader, OutgoingHttpHeaders } from 'node:http';
import type { ResponseHead } from './pipeline.js';

/** HeadArg is the headers argument of writeHead: an object, a flat raw list, or a list of pairs. */
export type HeadArg = OutgoingHttpHeaders | OutgoingHttpHeader[] | readonly (readonly [string, OutgoingHttpHeader])[];

/**
 * mergeHead applies writeHead's arguments to a response, as Node itself would merge them, so
 * that head hooks see every header on the response: headers replace same-named ones (a raw
 * list keeps its duplicates), then the status and reason phrase are set. A header Node
 * refuses throws before the status changes.
 */
export function mergeHead(res: ResponseHead & { statusMessage: string }, status: number, reason?: string | HeadArg, headers?: HeadArg): void {
  if (typeof reason !== 'string') {
    headers ??= reason;
    reason = undefined;
  } // writeHead(status, undefined, headers) keeps its headers, as Node's does
  if (headers) mergeHeaders(res, headers);
  res.statusCode = status;
  if (reason !== undefined) res.statusMessage = reason;
}

function mergeHeaders(res: ResponseHead, headers: HeadArg): void {
  if (!Array.isArray(headers)) {
    const fields = headers as OutgoingHttpHeaders;
    // for-in, not Object.entries: every response with headers comes here, and builds no pairs
    for (const k in fields) {
      const v = fields[k];
      if (v !== undefined && Object.hasOwn(fields, k)) res.setHeader(k, v);
    }
    return;
  }
  const pairs: [string, OutgoingHttpHeader][] = [];
  if (headers.length && Array.isArray(headers[0])) for (const [k, v] of headers as [string, OutgoingHttpHeader][]) pairs.push([k, v]);
  else for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([String(headers[i]), headers[i + 1] as OutgoingHttpHeader]);
  for (const [k] of pairs) res.removeHeader(k);
  for (const [k, v] of pairs) if (k) res.appendHeader(k, v as string | string[]);
}
