import { createServer } from 'node:http';

// The bare Node peer: answers every request with the bytes gatekit's `respond "hello world\n"`
// sends (same status, same headers, same keep-alive timeout), with nothing in between.
// usage: node dist/bench/bare-server.js PORT

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write('usage: bare-server PORT\n');
  process.exit(2);
}

const BODY = Buffer.from('hello world\n');
const HEADERS = { 'content-type': 'text/plain; charset=utf-8', 'content-length': BODY.length };
const KEEPALIVE_MS = 75_000; // gatekit's default keepalive_timeout, so the Keep-Alive header matches

const server = createServer({ keepAliveTimeout: KEEPALIVE_MS }, (req, res) => {
  res.writeHead(200, HEADERS);
  res.end(req.method === 'HEAD' ? undefined : BODY);
});
server.keepAliveTimeout = KEEPALIVE_MS;
server.listen(port, '127.0.0.1', () => process.stderr.write(`bare server listening on http://127.0.0.1:${port}\n`));

const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
