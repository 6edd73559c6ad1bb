import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';

// The floor of an HTTP/2 server on Node: node:http2 over TLS (ALPN h2, http/1.1), one process,
// answering a fixed text, nothing in between. The http2 bench measures what its idle
// connections cost, to tell gatekit's share of that figure from Node's (TLS and nghttp2).
// usage: node dist/bench/h2-floor-peer.js PORT CERT KEY

const [port, cert, key] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
if (!Number.isInteger(port) || port <= 0 || !cert || !key) {
  process.stderr.write('usage: h2-floor-peer PORT CERT KEY\n');
  process.exit(2);
}

const server = createSecureServer({ cert: readFileSync(cert), key: readFileSync(key), allowHTTP1: true }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello from respond');
});
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
