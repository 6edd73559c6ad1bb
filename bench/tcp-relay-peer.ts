import { connect, createServer } from 'node:net';

// The floor of the proxy scenario: a Node process that relays bytes between each client
// connection and one upstream connection of its own, with no HTTP at all (no parsing, no
// headers, no pooling). No Node HTTP proxy can do less per request, so its throughput bounds
// what any proxy written for Node reaches on this machine.
// usage: node dist/bench/tcp-relay-peer.js PORT UPSTREAM_PORT

const [port, upstreamPort] = [Number(process.argv[2]), Number(process.argv[3])];
const server = createServer((client) => {
  const upstream = connect(upstreamPort, '127.0.0.1');
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream);
  upstream.pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(port, '127.0.0.1');
const stop = (): void => { server.close(() => process.exit(0)); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
