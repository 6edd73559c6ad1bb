// A plain Node request listener: echoes what it was asked, body included.
let served = 0;

export default function plain(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    served += 1;
    const body = JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString(), served, pid: process.pid });
    res.writeHead(200, { 'content-type': 'application/json', 'x-app': 'plain' });
    res.end(body);
  });
}
