import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** Forwarder is a layer-4 forwarder on 127.0.0.1: `sent` lists the port each connection went to. */
export interface Forwarder {
  readonly port: number;
  readonly sent: number[];
  close(): void;
}

/**
 * tcpForwarder listens on a free port and pipes each connection to the port `target()` names
 * at that moment (a round-robin balancer, or pebble's challenge ports aimed per connection).
 */
export async function tcpForwarder(target: () => number): Promise<Forwarder> {
  const open = new Set<Socket>();
  const sent: number[] = [];
  const server = createServer((client) => {
    sent.push(target());
    const up = connect(sent[sent.length - 1], '127.0.0.1');
    for (const s of [client, up]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {
        client.destroy();
        up.destroy();
      });
    }
    client.pipe(up).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    sent,
    close: () => {
      for (const s of open) s.destroy();
      server.close();
    },
  };
}
