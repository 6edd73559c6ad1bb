import { join } from 'node:path';
import { sourceFile } from '../../lib/index.js';

/** PYTHON_MODULE is gatekit_asgi.py, the stdlib-only Python side, which gatekit_pool.py's workers load. */
export const PYTHON_MODULE = sourceFile(import.meta.url, join('python', 'gatekit_asgi.py'), join('plugins', 'asgi', 'python', 'gatekit_asgi.py'));

/** WS_FRAME names the frame kinds of a WebSocket stream beyond HTTP_FRAME's (see python/gatekit_asgi.py), by the byte that marks them. */
export const WS_FRAME = {
  /** bytes: a binary message (both ways); gatekit → Python, it is a request body chunk in an HTTP stream. */
  bytes: 0x42, // B
  /** text: a text message, utf-8 (both ways). */
  text: 0x54, // T
  /** close: a close, 2-byte code then the reason (both ways). */
  close: 0x43, // C
  /** accept: Python → gatekit, websocket.accept: subprotocol then header names and values, NUL-separated. */
  accept: 0x41, // A
} as const;
