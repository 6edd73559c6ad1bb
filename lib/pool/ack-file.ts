import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * AckFile is gatekit's side of a link's ack file (see lib/python/gatekit_pool.py): the Python
 * worker stores there the highest stream id whose head it has read, before any of those
 * streams can start, with no frame and no wake-up. It is held open from HELLO on, and read
 * once the link closes: the streams past it were never read, and may go to another worker.
 */
export class AckFile {
  private constructor(
    private readonly path: string,
    private fd: number,
  ) {}

  /** open opens the ack file `name` (a plain file name from HELLO) in the folder `dir`; undefined when it is not there. */
  static open(dir: string, name: string): AckFile | undefined {
    if (!name || name !== basename(name)) return undefined;
    const path = join(dir, name);
    try {
      return new AckFile(path, openSync(path, 'r'));
    } catch {
      return undefined;
    }
  }

  /** read returns the highest stream id acknowledged (0: none), or undefined when the file cannot be read. */
  read(): number | undefined {
    const b = Buffer.alloc(4);
    try {
      return readSync(this.fd, b, 0, 4, 0) === 4 ? b.readUInt32BE(0) : undefined;
    } catch {
      return undefined;
    }
  }

  /** close closes the file and removes it (the worker removes it too when it closes the link itself). */
  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    try {
      unlinkSync(this.path);
    } catch {
      /* the worker removed it already */
    }
  }
}
