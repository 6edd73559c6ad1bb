// Python application pools shared by the plugins that serve Python apps (wsgi, asgi).
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
