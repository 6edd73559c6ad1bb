import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Tunnels are the upgraded connections (WebSockets) a proxy unit carries: bytes both ways,
 * untouched, so frames, close codes and ping/pong pass as sent. Each side's end is passed
 * on (half-close), an error or `idle` ms without traffic closes both, and close() cuts all.
 */
export class Tunnels {
  private readonly open = new Set<Duplex>();

  /** size is the number of connections held (two per tunnel). */
  get size(): number {
    return this.open.size;
  }

  /** join pipes the client and upstream connections into each other. */
  join(client: Duplex, upstream: Socket, idle: number): void {
    const both = [client, upstream];
    const cut = (): void => {
      for (const s of both) {
        s.destroy();
        this.open.delete(s);
      }
    };
    for (const s of both) {
      this.open.add(s);
      s.on('error', cut);
      s.on('timeout', cut);
      (s as Socket).setTimeout?.(idle);
    }
    const closeAfter = (from: Duplex, to: Duplex): void => {
      from.on('close', () => {
        this.open.delete(from);
        // pass the close on once what `from` sent has been written
        if (!to.destroyed) to.end(() => to.destroy());
      });
    };
    closeAfter(client, upstream);
    closeAfter(upstream, client);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** close cuts every tunnel. */
  close(): void {
    for (const s of this.open) s.destroy();
    this.open.clear();
  }
}
