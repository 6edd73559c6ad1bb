import { Duplex } from 'node:stream';

/**
 * MemorySocket is one end of an in-memory connection: what one end writes, the other reads.
 * It has the few socket methods Node's HTTP client and server call, so a request can be
 * served with no port open.
 */
class MemorySocket extends Duplex {
  peer!: MemorySocket;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  readonly encrypted = false;

  override _read(): void {}
  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.peer.push(chunk);
    done();
  }
  override _final(done: (e?: Error | null) => void): void {
    this.peer.push(null);
    done();
  }
  override _destroy(e: Error | null, done: (e?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    done(e);
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
}

/** socketPair makes two connected in-memory sockets: a client end and a server end. */
export function socketPair(): [client: Duplex, server: Duplex] {
  const a = new MemorySocket();
  const b = new MemorySocket();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
