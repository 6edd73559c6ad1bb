import { connect } from 'node:net';

// A load of exactly N requests (wrk runs for a time, not a count): GETs over C keep-alive
// connections, each sent when the previous answer on its connection is whole. Used by
// count-instructions.sh, where the server runs under valgrind and its cost is divided by N.
// usage: node dist/bench/fixed-load.js URL N [C]; prints the answers counted, exits 1 on any but 200

const [url, total, conns] = [new URL(process.argv[2] ?? ''), Number(process.argv[3]), Number(process.argv[4] ?? 8)];
if (url.protocol !== 'http:' || !(total > 0) || !(conns > 0)) {
  process.stderr.write('usage: fixed-load http://HOST:PORT/PATH N [CONNECTIONS]\n');
  process.exit(2);
}
const request = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: gatekit-bench\r\n\r\n`);
let left = total;
let answered = 0;
let failed = 0;

/** oneConnection sends requests one after another until none are left. */
function oneConnection(): Promise<void> {
  return new Promise((resolve) => {
    const s = connect(Number(url.port), url.hostname);
    let buf = '';
    const next = (): void => {
      if (left <= 0) {
        s.end();
        resolve();
        return;
      }
      left--;
      s.write(request);
    };
    s.setEncoding('latin1');
    s.on('connect', next);
    s.on('data', (d: string) => {
      buf += d;
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        if (!buf.startsWith('HTTP/1.1 200 ')) failed++;
        buf = buf.slice(end + 4 + length);
        answered++;
        next();
      }
    });
    s.on('error', (e) => {
      process.stderr.write(`fixed-load: ${e.message}\n`);
      failed++;
      resolve();
    });
  });
}

await Promise.all(Array.from({ length: conns }, oneConnection));
process.stdout.write(`${answered}\n`);
if (failed) {
  process.stderr.write(`fixed-load: ${failed} answers were not 200 or connections failed\n`);
  process.exit(1);
}
