// CommonJS, exporting an http.Server rather than a function.
const http = require('node:http');

module.exports = http.createServer((req, res) => { res.end(`server ${req.url}`); });
