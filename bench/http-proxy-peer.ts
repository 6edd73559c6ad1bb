import { createServer } from 'node:http';
import { Agent } from 'node:http';
import httpProxy from 'http-proxy';

// The node-http-proxy peer of the proxy scenario: a plain http-proxy setup with a keep-alive agent.
// usage: node dist/bench/http-proxy-peer.js PORT UPSTREAM_URL

const [port, target] = [Number(process.argv[2]), process.argv[3]];
const proxy = httpProxy.createProxyServer({ target, agent: new Agent({ keepAlive: true, maxFreeSockets: 128 }) });
proxy.on('error', (_e, _req, res) => {
  (res as import('node:http').ServerResponse).writeHead?.(502);
  res.end();
});
const server = createServer((req, res) => proxy.web(req, res));
server.keepAliveTimeout = 75_000;
server.listen(port, '127.0.0.1');
const stop = (): void => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
