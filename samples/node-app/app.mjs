// A dependency-free Node application: a plain (req, res) request listener.
const started = new Date().toISOString();
let served = 0;

function json(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export default function app(req, res) {
  served += 1;
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/time') return json(res, 200, { now: new Date().toISOString(), pid: process.pid, started, served });
  if (url.pathname === '/echo' && req.method === 'POST') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => json(res, 200, { echo: Buffer.concat(chunks).toString() }));
    return undefined;
  }
  if (url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    return res.end(`hello from a Node app in worker ${process.pid} (${served} requests served)\n`);
  }
  return json(res, 404, { error: `nothing at ${url.pathname}` });
}
