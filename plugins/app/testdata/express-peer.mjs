// An Express application that reads what Express apps read of the request's connection and
// body, and answers with res.json and res.sendFile: the same over HTTP/1.1 and HTTP/2.
import express from 'express';
import { fileURLToPath } from 'node:url';

const app = express();
app.use(express.json());
app.post('/peer', (req, res) => {
  res.json({
    body: req.body,
    remoteAddress: req.socket.remoteAddress,
    sameConnection: req.connection === req.socket,
    secure: req.secure,
    protocol: req.protocol,
    ip: req.ip,
    httpVersion: req.httpVersion,
    complete: req.complete,
    aborted: req.aborted,
    trailers: req.trailers,
    setTimeout: typeof req.setTimeout,
  });
});
app.get('/file', (req, res) => res.sendFile(fileURLToPath(new URL('plain.mjs', import.meta.url))));

export default app;
