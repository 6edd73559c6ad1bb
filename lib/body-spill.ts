import { mkdtemp, open, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/**
 * SpillFile is the temporary file of a request body too large to keep in memory. It is made
 * in a fresh folder of the temp directory that only gatekit's user can enter (mkdtemp: mode
 * 0700), then unlinked, with its folder, as soon as it is open, as Nginx does with its
 * client_body_temp files: the open file lives on until it is closed, and nothing stays
 * behind on disk, even when gatekit is killed.
 */
export class SpillFile {
  private stream: Readable | undefined;
  private closed = false;

  private constructor(private readonly handle: FileHandle) {}

  /** open makes an empty, already unlinked file. */
  static async open(): Promise<SpillFile> {
    const dir = await mkdtemp(join(tmpdir(), 'gatekit-body-'));
    const path = join(dir, 'body');
    try {
      return new SpillFile(await open(path, 'wx+', 0o600));
    } finally {
      await unlink(path).catch(() => {});
      await rmdir(dir).catch(() => {});
    }
  }

  /** write appends the pieces, in order. */
  async write(parts: readonly Buffer[]): Promise<void> {
    for (const p of parts) {
      for (let at = 0; at < p.length;) at += (await this.handle.write(p, at)).bytesWritten;
    }
  }

  /** reader is a stream of everything written, from the start; it closes the file when it ends or is destroyed. */
  reader(): Readable {
    const s = this.handle.createReadStream({ start: 0 });
    s.on('error', () => {}); // its reader hears it too; this only keeps a late one (after the reader left) from being unhandled
    this.stream = s;
    return s;
  }

  /** close releases the file (through its reader, if one was made); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.stream) this.stream.destroy();
    else await this.handle.close().catch(() => {});
  }
}
