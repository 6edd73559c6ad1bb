import { connect, createServer } from 'node:net';

/** freePort finds a TCP port free on 127.0.0.1 now, for a peer that must be told its port before it listens. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** acceptsOn resolves once 127.0.0.1:port takes a connection; it gives up after `ms`, or at once when `gone()` says the peer exited. */
export async function acceptsOn(port: number, gone: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (gone() || Date.now() > until) throw new Error(`nothing accepts on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
