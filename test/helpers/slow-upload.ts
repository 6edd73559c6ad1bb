import { request } from 'node:http';

/** Answer is a response read whole. */
export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** SlowUpload is a request whose body a test sends piece by piece. */
export interface SlowUpload {
  /** response resolves once the response has ended (rejects if the connection fails first). */
  readonly response: Promise<Answer>;
  /** sent resolves once the last piece is written (never, for a client that stalls). */
  readonly sent: Promise<void>;
  /** done tells whether the last piece is written. */
  done(): boolean;
  /** wrote resolves once `n` pieces are written (the server has had a piece's pause to see the request). */
  wrote(n: number): Promise<void>;
  /** abort drops the connection. */
  abort(): void;
}

/** SlowUploadOptions shape the attack: pieces, the pause between them, and framing. */
export interface SlowUploadOptions {
  readonly pieces: readonly Buffer[];
  /** every is the pause between two pieces (ms): the slow client's pace. */
  readonly every: number;
  /** length sends a Content-Length (the sum of the pieces) rather than chunked encoding. */
  readonly length?: boolean;
  /** stallAfter stops after that many pieces, the request left open (a client that stalls). */
  readonly stallAfter?: number;
  readonly method?: string;
}

/**
 * slowUpload starts a request and sends its body slowly, as a client on a bad link (or an
 * attacker) does: one piece, then a pause of `every` ms, and so on.
 */
export function slowUpload(port: number, path: string, o: SlowUploadOptions): SlowUpload {
  const total = o.pieces.reduce((n, p) => n + p.length, 0);
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    ...(o.length ? { 'content-length': String(total) } : { 'transfer-encoding': 'chunked' }),
  };
  const req = request({ host: '127.0.0.1', port, path, method: o.method ?? 'POST', agent: false, headers });
  let finished = false;
  let written = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const response = new Promise<Answer>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (s: string) => {
        body += s;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  response.catch(() => {});
  req.on('close', () => clearTimeout(timer));
  const sent = new Promise<void>((resolve) => {
    const next = (i: number): void => {
      if (req.destroyed) return;
      if (i === o.stallAfter) return;
      if (i === o.pieces.length) {
        finished = true;
        req.end();
        resolve();
        return;
      }
      req.write(o.pieces[i]);
      written = i + 1;
      for (const w of waiters.filter((x) => x.n <= written)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      timer = setTimeout(() => next(i + 1), i + 1 < o.pieces.length ? o.every : 0);
    };
    req.flushHeaders();
    next(0);
  });
  const wrote = (n: number): Promise<void> =>
    written >= n
      ? Promise.resolve()
      : new Promise((resolve) => {
          waiters.push({ n, resolve });
        });
  return {
    response,
    sent,
    done: () => finished,
    wrote,
    abort: () => {
      clearTimeout(timer);
      req.destroy();
    },
  };
}

/** pieces makes `count` pieces of `size` bytes, each filled with a letter of its own. */
export function pieces(count: number, size: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.alloc(size, String.fromCharCode(97 + (i % 26))));
}
