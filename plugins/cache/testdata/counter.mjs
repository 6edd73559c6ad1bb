// A Node request listener that counts its calls, with a freshness lifetime.
let calls = 0;

export default function counter(_req, res) {
  calls += 1;
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
  res.end(`call ${calls}`);
}
