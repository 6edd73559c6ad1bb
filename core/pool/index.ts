// Python application pools shared by the plugins that serve Python apps (wsgi, asgi).
export { FrameReader, MAX_CONTROL, frame, frameHeader, pumpBody, relayData, textFrame, writeFrame, type BodyPump, type FrameSink } from './frames.js';
export { poolsPart, PythonPool, type PythonPoolSpec } from './pool.js';
export { POOL_QUEUE_WAIT, awaitPoolWorker } from './ready.js';
export { POOL_PYTHON, PYTHON_APP_SPEC, poolRunDir, pythonPoolSettings, sourceFile, type PythonPoolConfig, type PythonPoolSettings } from './settings.js';
export { PoolWatch, type PoolStatus } from './watch.js';
