// Throws before answering (sync), or after (async, with headers sent).
export default async function fails(req, res) {
  if (req.url.endsWith('/late')) {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('partial');
    await new Promise((r) => setImmediate(r));
    throw new Error('failed after answering');
  }
  throw new Error('failed before answering');
}
