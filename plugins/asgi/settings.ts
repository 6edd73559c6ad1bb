import { join } from 'node:path';
import { poolRunDir, sourceFile, type ProcessInfo, type Span } from '../../core/index.js';
import type { AsgiConfig } from './schema.js';

/** runDir is the folder of one asgi pool's sockets, the same in the master and every Node worker. */
export function runDir(cfg: AsgiConfig, at: Span, proc: ProcessInfo): string {
  return poolRunDir('asgi', cfg, at, proc);
}

/** PYTHON_MODULE is gatekit_asgi.py, the stdlib-only Python side, which gatekit_pool.py's workers load. */
export const PYTHON_MODULE = sourceFile(import.meta.url, join('python', 'gatekit_asgi.py'), join('plugins', 'asgi', 'python', 'gatekit_asgi.py'));

/** FRAME names the asgi protocol's frame types (see python/gatekit_asgi.py), by the byte that marks them. */
export const FRAME = {
  /** head: gatekit → Python, the scope as a JSON array (see scope.ts). */
  head: 0x48, // H
  /** bytes: a request body chunk (→ Python), or a binary WebSocket message (both ways). */
  bytes: 0x42, // B
  /** end: gatekit → Python, the request body is complete. */
  end: 0x45, // E
  /** text: a text WebSocket message, utf-8 (both ways). */
  text: 0x54, // T
  /** close: a WebSocket close, 2-byte code then the reason (both ways). */
  close: 0x43, // C
  /** start: Python → gatekit, http.response.start: status then header names and values, NUL-separated. */
  start: 0x53, // S
  /** data: Python → gatekit, a chunk of the response body (streamed). */
  data: 0x44, // D
  /** finish: Python → gatekit, the response is complete (more_body false). */
  finish: 0x46, // F
  /** accept: Python → gatekit, websocket.accept: subprotocol then header names and values, NUL-separated. */
  accept: 0x41, // A
  /** error: Python → gatekit, the application raised; the payload is the traceback. */
  error: 0x58, // X
} as const;
