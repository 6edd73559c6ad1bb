// The frame types of the wsgi protocol (see python/gatekit_wsgi.py); the codec is the
// kernel's (core/pool/frames.ts): 1 byte of type, a 4-byte big-endian length, the payload.
import { FrameReader as PoolFrameReader, type FrameSink } from '../../core/index.js';

export { frame, type FrameSink } from '../../core/index.js';

/** FRAME names the frame types, by the byte that marks them. */
export const FRAME = {
  /** head: gatekit → Python, the environ as NUL-separated latin-1 keys and values. */
  head: 0x48, // H
  /** body: gatekit → Python, a chunk of the request body. */
  body: 0x42, // B
  /** end: gatekit → Python, the request body is complete. */
  end: 0x45, // E
  /** pid: Python → gatekit, the pid of the process that accepted (4 bytes). */
  pid: 0x50, // P
  /** status: Python → gatekit, "200 OK" then header names and values, NUL-separated. */
  status: 0x53, // S
  /** data: Python → gatekit, a chunk of the response body. */
  data: 0x44, // D
  /** finish: Python → gatekit, the response is complete. */
  finish: 0x46, // F
  /** error: Python → gatekit, the application raised; the payload is the traceback. */
  error: 0x58, // X
  /** log: Python → gatekit, lines the application wrote to wsgi.errors. */
  log: 0x4c, // L
} as const;

/** FrameReader decodes a wsgi worker's frames, streaming the response data (FRAME.data). */
export class FrameReader extends PoolFrameReader {
  constructor(sink: FrameSink) { super(sink, FRAME.data); }
}
