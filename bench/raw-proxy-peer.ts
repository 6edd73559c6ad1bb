import { connect, createServer, type Socket } from 'node:net';

// The least HTTP proxy on raw sockets, for the proxy scenario: no node:http on either side;
// the request head is parsed in JavaScript, sent upstream without its hop-by-hop headers and
// with the X-Forwarded-* ones, on a pooled connection; the answer must carry Content-Length
// (the bare upstream's does). Requests with a body, chunked answers, pipelining, timeouts and
// errors are not handled. Its throughput bounds what any proxy written in JavaScript for Node
// reaches on this machine.
// usage: node dist/bench/raw-proxy-peer.js PORT UPSTREAM_PORT

const [port, upstreamPort] = [Number(process.argv[2]), Number(process.argv[3])];
const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);
type Answer = (head: string, body: Buffer) => void;
const idle: Socket[] = [];
const waiting = new WeakMap<Socket, Answer>();

/** headEnd finds the blank line after a head, or -1. */
function headEnd(buf: Buffer): number {
  return buf.indexOf('\r\n\r\n');
}

function upstream(): Socket {
  const pooled = idle.pop();
  if (pooled) return pooled;
  const s = connect(upstreamPort, '127.0.0.1');
  s.setNoDelay(true);
  let buf: Buffer | undefined;
  s.on('data', (d: Buffer) => {
    buf = buf ? Buffer.concat([buf, d]) : d;
    const end = headEnd(buf);
    if (end < 0) return;
    const lines = buf.toString('latin1', 0, end).split('\r\n');
    let length = 0;
    let head = `${lines[0]}\r\n`;
    for (let k = 1; k < lines.length; k++) {
      const colon = lines[k].indexOf(':');
      const name = lines[k].slice(0, colon).toLowerCase();
      if (name === 'content-length') length = Number(lines[k].slice(colon + 1));
      if (!HOP.has(name)) head += `${lines[k]}\r\n`;
    }
    if (buf.length < end + 4 + length) return;
    const body = buf.subarray(end + 4, end + 4 + length);
    buf = undefined;
    const answer = waiting.get(s)!;
    idle.push(s);
    answer(`${head}\r\n`, body);
  });
  return s;
}

const server = createServer((client) => {
  client.setNoDelay(true);
  const remote = client.remoteAddress ?? '';
  client.on('error', () => client.destroy());
  client.on('data', (d: Buffer) => {
    const end = headEnd(d); // a whole head per read: enough for the load generator
    if (end < 0) return;
    const lines = d.toString('latin1', 0, end).split('\r\n');
    const [method, target] = lines[0].split(' ');
    let head = `${method} ${target} HTTP/1.1\r\n`;
    let host = '';
    for (let k = 1; k < lines.length; k++) {
      const colon = lines[k].indexOf(':');
      const name = lines[k].slice(0, colon).toLowerCase();
      if (name === 'host') host = lines[k].slice(colon + 1).trim();
      if (!HOP.has(name)) head += `${lines[k]}\r\n`;
    }
    head += `X-Forwarded-For: ${remote}\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: ${host}\r\nX-Real-IP: ${remote}\r\n\r\n`;
    const s = upstream();
    waiting.set(s, (h, body) => {
      client.cork();
      client.write(h, 'latin1');
      client.write(body);
      client.uncork();
    });
    s.write(head, 'latin1');
  });
});
server.listen(port, '127.0.0.1');
const stop = (): void => {
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
