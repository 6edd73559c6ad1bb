// A listener plus a WebSocket upgrade handler (the `ws` package, noServer mode).
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (ws, req) => {
  ws.send(`welcome to ${req.url}`);
  ws.on('message', (m) => ws.send(`echo: ${m}`));
});

export default function listener(req, res) {
  res.end('plain http');
}

export function upgrade(req, socket, head) {
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
}

export function close() {
  for (const c of wss.clients) c.terminate();
  wss.close();
}
