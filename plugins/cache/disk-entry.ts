// The file format of a disk entry: a magic word, the length of the head, the head as JSON,
// then the body as it came. The body's size is the file's, less what comes before it.

import { open, type FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { entryMeta, type ByteRange, type EntryMeta, type StoredEntry } from './store.js';

const MAGIC = 0x474b4331; // "GKC1"
/** FIRST_READ is how much of an entry the first read takes: the whole of a small one. */
export const FIRST_READ = 64 * 1024;
const CHUNK = 64 * 1024;

/** encodeHead is the bytes before an entry's body. */
export function encodeHead(meta: Omit<EntryMeta, 'size'>): Buffer {
  const json = Buffer.from(JSON.stringify(meta));
  const head = Buffer.allocUnsafe(8 + json.length);
  head.writeUInt32BE(MAGIC, 0);
  head.writeUInt32BE(json.length, 4);
  json.copy(head, 8);
  return head;
}

/** CorruptEntry is thrown for a file that is not a whole entry of the key it was looked up by. */
export class CorruptEntry extends Error {}

/**
 * readEntry reads the entry in an open file of `fileSize` bytes, its first bytes in `first`:
 * the whole body when it came with them, else a stream that reads it from `path` later, and
 * fails (never sends another entry's bytes) if the file was replaced meanwhile.
 */
export async function readEntry(fh: FileHandle, first: Buffer, fileSize: number, ino: number, path: string, key: string): Promise<StoredEntry> {
  const { parsed, bodyAt } = await readHead(fh, first, fileSize);
  if (parsed.key !== key) throw new CorruptEntry('another key');
  const meta = entryMeta(parsed, fileSize - bodyAt);
  const body = fileSize <= first.length ? first.subarray(bodyAt, fileSize) : undefined;
  return {
    meta,
    body,
    stream: (range?: ByteRange) =>
      body
        ? Readable.from([range ? body.subarray(range.start, range.end + 1) : body])
        : Readable.from(readBody(path, ino, bodyAt + (range?.start ?? 0), bodyAt + (range?.end ?? meta.size - 1))),
  };
}

/** readHead reads an entry's head from an open file, its first bytes in `first`. */
export async function readHead(fh: FileHandle, first: Buffer, fileSize: number): Promise<{ parsed: Omit<EntryMeta, 'size'>; bodyAt: number }> {
  if (first.length < 8 || first.readUInt32BE(0) !== MAGIC) throw new CorruptEntry('not a cache entry');
  const headLength = first.readUInt32BE(4);
  const bodyAt = 8 + headLength;
  if (bodyAt > fileSize) throw new CorruptEntry('truncated head');
  let json = first.subarray(8, bodyAt);
  if (bodyAt > first.length) {
    json = Buffer.allocUnsafe(headLength);
    const { bytesRead } = await fh.read(json, 0, headLength, 8);
    if (bytesRead !== headLength) throw new CorruptEntry('truncated head');
  }
  try {
    return { parsed: JSON.parse(json.toString()) as Omit<EntryMeta, 'size'>, bodyAt };
  } catch {
    throw new CorruptEntry('unreadable head');
  }
}

/** readBody yields the bytes from `start` to `end` (inclusive) of the file at `path`, when it is still inode `ino`. */
async function* readBody(path: string, ino: number, start: number, end: number): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    if ((await fh.stat()).ino !== ino) throw new Error('the entry was replaced while read');
    for (let at = start; at <= end;) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, end - at + 1));
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      if (bytesRead === 0) throw new Error('the entry is shorter than its head says');
      at += bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}
