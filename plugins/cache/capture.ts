// The body filters of a response the cache sees go by: one copies the body into the store as
// it streams, the other puts a stored body in the place of the handler's (a 304 that
// revalidated an entry, a failure a stale entry stands in for).

import { Transform } from 'node:stream';
import type { BodyTransform } from '../../core/index.js';
import type { EntryWriter, StoredEntry } from './store.js';

/**
 * teeBody passes a body on unchanged and writes a copy to the store as it goes. The entry is
 * committed once the body ends, and the last piece of the body is held back until it is, so
 * that a request sent once this response arrived finds the entry; it is dropped when it passes `maxSize` or the response is cut short.
 * `settled` is called once either is done.
 */
export function teeBody(open: () => EntryWriter, maxSize: number, settled: () => void): BodyTransform {
  let writer: EntryWriter | undefined;
  let size = 0;
  let over = false;
  let done = false;
  const take = (chunk: Buffer): void => {
    if (over) return;
    size += chunk.length;
    if (size > maxSize) {
      over = true;
      writer?.abort();
      writer = undefined;
      return;
    }
    (writer ??= open()).write(chunk);
  };
  const finish = async (complete: boolean): Promise<void> => {
    if (done) return;
    done = true;
    if (complete && !over) {
      await (writer ?? open()).commit();
      settled();
      return;
    }
    writer?.abort();
    settled();
  };
  let held: Buffer | undefined;
  return {
    stream: () =>
      new Transform({
        transform(chunk: Buffer, _enc, cb) {
          take(chunk);
          const out = held;
          held = chunk;
          cb(null, out);
        },
        flush(cb) {
          void finish(true).then(() => cb(null, held));
        },
        destroy(err, cb) {
          void finish(false);
          cb(err);
        },
      }),
  };
}

/**
 * storedBody drops the handler's body (none, for a 304) and sends a stored entry's instead,
 * ending once `ready` settles (the store's refresh of the entry, for the next request to see).
 */
export function storedBody(entry: StoredEntry, ready?: Promise<void>): BodyTransform {
  return {
    whole: () => (ready ? undefined : entry.body),
    stream: () =>
      new Transform({
        transform(_chunk, _enc, cb) {
          cb();
        },
        flush(cb) {
          const send = (): void => {
            const src = entry.stream();
            src.on('data', (c: Buffer) => this.push(c));
            src.once('end', () => cb());
            src.once('error', (e) => cb(e));
          };
          // Sent either way: a refresh that failed (the store logs it) only leaves the old head for the next request.
          // An async flush would leave the response hanging, and the rejection unhandled, if `ready` ever rejected.
          if (ready) void ready.then(send, send);
          else send();
        },
      }),
  };
}
