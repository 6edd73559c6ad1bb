import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';

// The floor of an HTTP/2 server on Node: node:http2 over TLS (ALPN h2, http/1.1), nothing in
// between. With PORT CERT KEY alone it is one process answering a fixed text through Node's
// compatibility API: the http2 bench measures what its idle connections cost, to tell
// gatekit's share of that figure from Node's (TLS and nghttp2). With PROCESSES and FILE it is
// the least server that answers a file over HTTP/2: PROCESSES processes sharing the port (as
// gatekit's workers do), each answering every stream with FILE's bytes from memory through
// `stream.respond` (no request or response objects), with the header fields FIELDS (JSON: the
// ones gatekit's `static` sends, so that both encode the same head), so that the bench can say
// how near gatekit's `static` comes to what any Node server can do.
// usage: node dist/bench/h2-floor-peer.js PORT CERT KEY [PROCESSES FILE [FIELDS]]

const [port, cert, key] = [Number(process.argv[2]), process.argv[3], process.argv[4]];
const [processes, file, fields] = [Number(process.argv[5] ?? 0), process.argv[6], process.argv[7] ?? '{}'];
if (!Number.isInteger(port) || port <= 0 || !cert || !key || (file !== undefined && !(processes > 0))) {
  process.stderr.write('usage: h2-floor-peer PORT CERT KEY [PROCESSES FILE [FIELDS]]\n');
  process.exit(2);
}
const tls = { cert: readFileSync(cert), key: readFileSync(key) };

if (file === undefined) {
  const server = createSecureServer({ ...tls, allowHTTP1: true }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('hello from respond');
  });
  server.listen(port, '127.0.0.1');
} else if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_NONE; // the workers race for connections, as gatekit's do by default
  for (let i = 0; i < processes; i++) cluster.fork();
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
} else {
  const body = readFileSync(file);
  const head = { ':status': 200, 'content-type': 'text/html', ...(JSON.parse(fields) as Record<string, string>), 'content-length': body.length };
  const server = createSecureServer(tls);
  server.on('stream', (stream) => {
    stream.respond(head);
    stream.end(body);
  });
  server.listen(port, '127.0.0.1');
}
process.on('SIGTERM', () => process.exit(0));
