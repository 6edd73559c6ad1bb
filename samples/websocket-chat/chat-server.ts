// The chat upstream of samples/websocket-chat: a WebSocket server (the `ws` package) that
// names each client and broadcasts what it says to everyone. Run it with
//   node dist/samples/websocket-chat/chat-server.js        (CHAT_PORT, default 9101)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { WebSocketServer, type WebSocket } from 'ws';

/** Chat is a running chat server. */
export interface Chat {
  readonly port: number;
  close(): Promise<void>;
}

/** startChat listens on host:port (0 for any free port) and serves the chat. */
export async function startChat(port: number, host = '127.0.0.1'): Promise<Chat> {
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' });
    res.end('this is a WebSocket endpoint\n');
  });
  const wss = new WebSocketServer({ server });
  let next = 1;
  const broadcast = (text: string): void => {
    for (const c of wss.clients) c.send(text);
  };
  wss.on('connection', (ws: WebSocket) => {
    const name = `guest${next++}`;
    ws.send(`welcome, ${name}`);
    broadcast(`${name} joined`);
    ws.on('message', (data, binary) => {
      const text = (data as Buffer).toString(); // a Buffer: ws's default binaryType
      if (binary || text === '/ping') return;
      broadcast(`${name}: ${text.slice(0, 500)}`);
    });
    ws.on('close', () => broadcast(`${name} left`));
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.close(1001, 'server going away');
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const chat = await startChat(Number(process.env.CHAT_PORT ?? 9101));
  process.stdout.write(`chat server on 127.0.0.1:${chat.port}\n`);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      void chat.close();
    });
}
