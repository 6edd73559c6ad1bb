// A real Express application, served unchanged.
import express from 'express';

const app = express();
app.use(express.json());
app.get('/hello', (req, res) => { res.type('text').send(`hello from express at ${req.originalUrl}`); });
app.post('/items', (req, res) => { res.status(201).json({ got: req.body, ip: req.ip }); });
app.get('/boom', () => { throw new Error('express route failed'); });
app.use((err, req, res, _next) => { res.status(500).json({ error: err.message }); });

export default app;
