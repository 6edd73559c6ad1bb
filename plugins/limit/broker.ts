import { mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Logger, MasterPart } from '../../core/index.js';
import type { LocalCounters, Release } from './counters.js';
import { batchedSender, COUNT_HERE, onLines } from './wire.js';

/**
 * CountersBroker is the master part of `limit` when there are workers: it holds every
 * block's counters and answers the workers over a unix socket, so that a client gets one
 * rate and one in-flight count however the kernel spreads its connections (Nginx keeps a
 * shared-memory zone for this; Node processes share no memory). A reload's broker carries
 * over the counters of unchanged blocks, moved or not, so old and new workers count together.
 */
export class CountersBroker implements MasterPart {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  /** `blocks` maps each block's id (blockId) to its counters, in file order; a reload's broker carries them over (carryOver). */
  constructor(
    private readonly path: string,
    readonly blocks: ReadonlyMap<string, LocalCounters>,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    const dir = dirname(this.path);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o700 }); // not recursive: a folder someone else made in its place fails here
    const server = createServer((s) => this.serve(s));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // an accept that fails (out of descriptors) costs that worker's connection, not the master
    server.on('error', (e) => this.log.error("limit: the master's counters could not take a worker's connection", { error: e.message }));
    this.log.debug('limit counters shared by the workers', { socket: this.path, blocks: this.blocks.size });
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dirname(this.path), { recursive: true, force: true });
  }

  /** serve answers one worker; what it still counts in flight is released when it goes. */
  private serve(socket: Socket): void {
    this.sockets.add(socket);
    const held = new Map<number, Release>();
    const send = batchedSender(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
      for (const release of held.values()) release();
      held.clear();
    });
    onLines(socket, (m) => {
      if (!Array.isArray(m) || typeof m[1] !== 'number') {
        socket.destroy();
        return;
      }
      const id = m[1];
      if (m[0] === 'l') {
        held.get(id)?.();
        held.delete(id);
        return;
      }
      const block = this.blocks.get(String(m[2]));
      if (!block) {
        this.log.warn('limit: a worker asked for a block the master does not know', { block: String(m[2]) });
        send([id, COUNT_HERE]);
        return;
      }
      if (m[0] === 't') {
        send([id, block.take(Number(m[3]), String(m[4]))]);
        return;
      }
      if (m[0] === 'e') {
        const release = block.enter(String(m[3]));
        if (release) held.set(id, release);
        send([id, release ? 1 : 0]);
        return;
      }
      socket.destroy();
    });
  }
}
