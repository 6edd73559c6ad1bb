// The store interface: what the cache keeps and how it gets it back. The memory and disk
// stores implement it; a store for several machines (Redis) can too, without the cache changing.

import type { Readable } from 'node:stream';
import type CachePolicy from 'http-cache-semantics';

/** StoredHeaders are a stored response's header fields, lowercased names. */
export type StoredHeaders = Record<string, string | string[]>;

/**
 * EntryMeta is what a store keeps beside a body: the response head and its policy. An entry
 * with `vary` set is a marker: the responses for the key vary on those request fields, and
 * each variant is stored under variantKey().
 */
export interface EntryMeta {
  readonly key: string;
  readonly status: number;
  readonly headers: StoredHeaders;
  /** policy is the http-cache-semantics policy, serialised. */
  readonly policy: CachePolicy.CachePolicyObject;
  readonly vary?: readonly string[];
  /** size is the body's length in bytes. */
  readonly size: number;
}

/** ByteRange is an inclusive range of a body's bytes. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** StoredEntry is an entry found in a store. */
export interface StoredEntry {
  readonly meta: EntryMeta;
  /** body is the whole body when the store holds it in memory (or read it whole, being small). */
  readonly body: Buffer | undefined;
  /** stream reads the body (or a range of it) from where it is kept; used when body is undefined. */
  stream(range?: ByteRange): Readable;
}

/** EntryWriter takes one body as it streams; nothing is visible under the key until commit(). */
export interface EntryWriter {
  write(chunk: Buffer): void;
  /** commit makes the entry visible, atomically replacing any before it; failures are logged, never thrown. */
  commit(): Promise<void>;
  /** abort drops what was written. */
  abort(): void;
}

/** CacheStore is where entries live. A failing store answers as an empty one and logs. */
export interface CacheStore {
  get(key: string): Promise<StoredEntry | undefined>;
  /** open starts writing an entry; `meta.size` is filled in at commit. */
  open(meta: Omit<EntryMeta, 'size'>): EntryWriter;
  /** update replaces an entry's head (after a 304 refreshed it), keeping its body. */
  update(meta: EntryMeta): Promise<void>;
  /** purge removes the entries whose key starts with `prefix`, or is `key` exactly when not a prefix; returns how many. */
  purge(key: string, prefix: boolean): Promise<number>;
  close(): Promise<void>;
}
