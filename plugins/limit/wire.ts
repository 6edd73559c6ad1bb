import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { join } from 'node:path';

/**
 * The master's counters and its workers speak JSON arrays, one per line, on a unix socket:
 *   ["t", id, block, rate, key]  take a token          → [id, milliseconds to wait (0: go)]
 *   ["e", id, block, key]        count a request in    → [id, 1 (counted) or 0 (at the most)]
 *   ["l", id]                    release entry `id`      (no answer)
 * An answer of -1 means "count it yourself" (a block the master does not know). A worker's
 * entries still counted when its connection closes are released then. Keys longer than
 * KEY_MAX travel as their digest (see wireKey), so every line is short.
 */
export type Message = ['t', number, string, number, string] | ['e', number, string, string] | ['l', number];
export type Answer = [number, number];

/** COUNT_HERE is the answer that sends a worker back to its own counters. */
export const COUNT_HERE = -1;

const KEY_MAX = 128;

/** wireKey is a key as the master sees it: itself, or a digest when long (keys come from request data). */
export function wireKey(key: string): string {
  return key.length <= KEY_MAX ? key : `sha256:${createHash('sha256').update(key).digest('base64')}`;
}

/** brokerSocket is where a generation's master keeps the counters, in its run folder: the same path in its workers. */
export function brokerSocket(runDir: string): string {
  return join(runDir, 'limit', 'counters.sock');
}

/** MAX_LINE bounds one line: every well-formed message is far shorter, so a longer one ends the connection. */
const MAX_LINE = 4096;

/** onLines calls `each` with every line the socket brings, parsed as JSON; bad input destroys the socket. */
export function onLines(socket: Socket, each: (value: unknown) => void): void {
  let rest = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    let text = rest + chunk;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      let value: unknown;
      try {
        if (nl > MAX_LINE) throw new Error('line too long');
        value = JSON.parse(text.slice(0, nl));
      } catch {
        socket.destroy();
        return;
      }
      each(value);
      text = text.slice(nl + 1);
      nl = text.indexOf('\n');
    }
    if (text.length > MAX_LINE) {
      socket.destroy();
      return;
    }
    rest = text;
  });
}

/**
 * batchedSender writes messages or answers as lines, corked until `later` runs the flush:
 * process.nextTick sends what one callback wrote in one write; setImmediate sends what a
 * whole event-loop turn wrote (a worker's questions for every request the turn read).
 */
export function batchedSender(socket: Socket, later: (flush: () => void) => void = process.nextTick): (value: Message | Answer) => void {
  let corked = false;
  const flush = (): void => {
    corked = false;
    socket.uncork();
  };
  return (value) => {
    if (socket.destroyed) return;
    if (!corked) {
      corked = true;
      socket.cork();
      later(flush);
    }
    socket.write(`${JSON.stringify(value)}\n`);
  };
}
