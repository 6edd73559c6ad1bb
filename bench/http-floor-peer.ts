import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';

// The least HTTP proxy that Node's http server allows, for the proxy scenario: each request
// goes out on an idle upstream connection (or a new one) as its request line and headers
// plus X-Forwarded-For; the answer must come in one read and carry Content-Length (the bare
// upstream's does). No streaming, no chunked bodies, no timeouts, no errors handled. Its
// throughput bounds what a proxy built on node:http (as gatekit is) reaches on this machine.
// usage: node dist/bench/http-floor-peer.js PORT UPSTREAM_PORT

const [port, upstreamPort] = [Number(process.argv[2]), Number(process.argv[3])];
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
const idle: Socket[] = [];
const answer = new WeakMap<Socket, (data: Buffer) => void>();

function upstream(): Socket {
  const s = idle.pop();
  if (s) return s;
  const fresh = connect(upstreamPort, '127.0.0.1');
  fresh.setNoDelay(true);
  fresh.on('data', (d: Buffer) => answer.get(fresh)?.(d));
  return fresh;
}

const server = createServer((req, res) => {
  const s = upstream();
  let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (!HOP.has(raw[i].toLowerCase())) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  head += `X-Forwarded-For: ${req.socket.remoteAddress}\r\n\r\n`;
  answer.set(s, (d) => {
    const end = d.indexOf('\r\n\r\n');
    const lines = d.subarray(0, end).toString('latin1').split('\r\n');
    const headers: string[] = [];
    for (let k = 1; k < lines.length; k++) {
      const colon = lines[k].indexOf(':');
      const name = lines[k].slice(0, colon);
      if (!HOP.has(name.toLowerCase())) headers.push(name, lines[k].slice(colon + 1).trim());
    }
    res.writeHead(Number(lines[0].slice(9, 12)), headers);
    res.end(d.subarray(end + 4));
    idle.push(s);
  });
  s.write(head);
});
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1');
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
