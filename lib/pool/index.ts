// lib/pool/: the Python application pool wsgi and asgi run on: the master's PythonPool (a
// keeper and preforked workers, lib/python/gatekit_pool.py), the links and frames Node workers
// speak to it, and the plugin and unit skeleton both share.
export { FRAME_HEAD, FrameDecoder, FrameWriter, LINK_FRAME, MAX_CONTROL, type LinkFrameSink } from './frames.js';
export { HTTP_FRAME, HttpExchange, type ExchangeSpec } from './exchange.js';
export { Link } from './link.js';
export { PoolStream } from './stream.js';
export { PoolLinks, POOL_QUEUE_WAIT, RECALL_AFTER } from './links.js';
export { poolsPart, PythonPool, type PythonPoolSpec } from './pool.js';
export { frame, FrameReader, textFrame, type FrameSink } from './plain-frames.js';
export { POOL_PYTHON, PYTHON_APP_SPEC, poolRunDir, pythonPoolSettings, sourceFile, type PythonPoolConfig, type PythonPoolSettings } from './settings.js';
export { TimedList, type Timed } from './timed.js';
export { PoolWatch, type PoolStatus, type PoolWorker } from './watch.js';
export { pythonPoolOptions, type PythonPoolDocs } from './options.js';
export { PythonAppPlugin, PythonAppUnit, type PythonApp, type PythonAppConfig } from './app.js';
