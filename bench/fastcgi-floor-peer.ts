import cluster from 'node:cluster';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';

// The floor of the fastcgi scenario: the least a Node server can do to answer through
// PHP-FPM. Each of WORKERS processes keeps 4 FastCGI connections (FCGI_KEEP_CONN), sends
// nginx's fastcgi_params for the one script, buffers the whole answer and sends it. No
// routing, no streaming, no request timeouts, no errors handled: no FastCGI client on Node does less
// per request, so its throughput bounds what one reaches on this machine.
// usage: node dist/bench/fastcgi-floor-peer.js PORT WORKERS SOCKET DOCUMENT_ROOT

const [port, workers, socketPath, root] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4], process.argv[5]];
const KEEP = 4;
/** IDLE_MS: an idle connection holds a PHP-FPM child; let it go soon, as gatekit does in the bench. */
const IDLE_MS = 1000;

/** record is one FastCGI record of request 1, padded to 8 bytes. */
function record(type: number, content: Buffer): Buffer {
  const pad = (8 - (content.length % 8)) % 8;
  const head = Buffer.from([1, type, 0, 1, content.length >> 8, content.length & 255, pad, 0]);
  return Buffer.concat([head, content, Buffer.alloc(pad)]);
}

function pair(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  const len = (b: Buffer): Buffer => {
    if (b.length < 128) return Buffer.from([b.length]);
    const l = Buffer.alloc(4);
    l.writeUInt32BE((b.length | 0x80000000) >>> 0);
    return l;
  };
  return Buffer.concat([len(n), len(v), n, v]);
}

const BEGIN = record(1, Buffer.from([0, 1, 1, 0, 0, 0, 0, 0])); // responder, FCGI_KEEP_CONN
const END_PARAMS = record(4, Buffer.alloc(0));
const EMPTY_STDIN = record(5, Buffer.alloc(0));

function requestBytes(req: IncomingMessage): Buffer {
  const [path, query = ''] = (req.url ?? '/').split('?', 2);
  const p: Record<string, string> = {
    QUERY_STRING: query,
    REQUEST_METHOD: req.method ?? 'GET',
    CONTENT_TYPE: '',
    CONTENT_LENGTH: '',
    SCRIPT_NAME: path,
    REQUEST_URI: req.url ?? '/',
    DOCUMENT_URI: path,
    DOCUMENT_ROOT: root,
    SERVER_PROTOCOL: 'HTTP/1.1',
    REQUEST_SCHEME: 'http',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_SOFTWARE: 'floor',
    REMOTE_ADDR: req.socket.remoteAddress ?? '',
    REMOTE_PORT: String(req.socket.remotePort),
    SERVER_ADDR: '127.0.0.1',
    SERVER_PORT: String(port),
    SERVER_NAME: 'localhost',
    SCRIPT_FILENAME: root + path,
    PATH_INFO: '',
  };
  for (const [k, v] of Object.entries(req.headers)) p[`HTTP_${k.toUpperCase().replace(/-/g, '_')}`] = String(v);
  return Buffer.concat([BEGIN, record(4, Buffer.concat(Object.entries(p).map(([k, v]) => pair(k, v)))), END_PARAMS, EMPTY_STDIN]);
}

/** send answers the client from PHP's whole output: CGI head (Status, headers), then the body. */
function send(res: ServerResponse, out: Buffer): void {
  const end = out.indexOf('\r\n\r\n');
  let status = 200;
  const headers: string[] = [];
  for (const line of out.subarray(0, end).toString('latin1').split('\r\n')) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = parseInt(value, 10);
    else headers.push(name, value);
  }
  res.writeHead(status, headers);
  res.end(out.subarray(end + 4));
}

interface Conn {
  socket: Socket;
  onRecord?: (type: number, content: Buffer) => void;
}
const idle: Conn[] = [];
const waiting: ((c: Conn) => void)[] = [];
let opened = 0;

function open(): Conn {
  const c: Conn = { socket: connect(socketPath) };
  let buf: Buffer = Buffer.alloc(0);
  c.socket.on('data', (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length >= 8) {
      const len = buf.readUInt16BE(4);
      const total = 8 + len + buf[6];
      if (buf.length < total) return;
      const type = buf[1];
      const content = buf.subarray(8, 8 + len);
      buf = buf.subarray(total);
      c.onRecord?.(type, content);
    }
  });
  c.socket.on('timeout', () => drop(c));
  return c;
}

function acquire(use: (c: Conn) => void): void {
  const c = idle.pop();
  if (c) {
    c.socket.setTimeout(0);
    use(c);
  } else if (opened < KEEP) {
    opened++;
    use(open());
  } else waiting.push(use);
}

function release(c: Conn): void {
  const next = waiting.shift();
  if (next) {
    next(c);
    return;
  }
  idle.push(c);
  c.socket.setTimeout(IDLE_MS);
}

function drop(c: Conn): void {
  const i = idle.indexOf(c);
  if (i >= 0) idle.splice(i, 1);
  c.socket.destroy();
  opened--;
}

if (cluster.isPrimary && workers > 0) {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = (): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  createServer((req, res) => {
    if (req.url === '/') {
      res.end('ready');
      return;
    } // what the bench polls for
    acquire((c) => {
      const out: Buffer[] = [];
      c.onRecord = (type, content) => {
        if (type === 6)
          out.push(content); // FCGI_STDOUT
        else if (type === 3) {
          // FCGI_END_REQUEST
          c.onRecord = undefined;
          release(c);
          send(res, Buffer.concat(out));
        }
      };
      c.socket.write(requestBytes(req));
    });
  }).listen(port, '127.0.0.1');
}
