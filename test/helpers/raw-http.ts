import { connect } from 'node:net';

/** RawResponse is what came back on a raw socket, and whether the server closed it. */
export interface RawResponse {
  readonly text: string;
  readonly status: number;
  readonly closed: boolean;
}

/**
 * rawRequest writes bytes exactly as given (no client-side normalisation of the path)
 * and reads until the server closes or `ms` pass. Each request is one connection.
 */
export function rawRequest(port: number, bytes: string | Buffer, ms = 1500, host = '127.0.0.1', until?: (text: string) => boolean): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, host, () => socket.write(bytes));
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      resolve({ text, status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1] ?? 0), closed });
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (until?.(Buffer.concat(chunks).toString('latin1'))) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('error', (e) => {
      clearTimeout(timer);
      if (chunks.length) finish(true);
      else reject(e);
    });
  });
}

/** rawUntil sends raw bytes and resolves as soon as what came back satisfies `until` (or the connection ends, or `ms` passed). */
export function rawUntil(port: number, bytes: string | Buffer, until: (text: string) => boolean, ms = 10_000): Promise<RawResponse> {
  return rawRequest(port, bytes, ms, '127.0.0.1', until);
}

/** get sends a minimal GET for `target` with a Host header, closing after the response. */
export function rawGet(port: number, target: string, host = 'localhost'): Promise<RawResponse> {
  return rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
}
