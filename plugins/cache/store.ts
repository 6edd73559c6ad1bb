// The store interface: what the cache keeps and how it gets it back. The memory and disk
// stores implement it; a store for several machines (Redis) can too, without the cache changing.

import { Readable } from 'node:stream';
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

/** Release gives up a hold on a key. */
export type Release = () => void;

/**
 * SharedLocks hold keys across every process that shares a store (the workers of a machine
 * for the disk store, every instance for Redis): one of them fills a missing entry or
 * refreshes a stale one while the others wait or answer stale. A store that cannot lock
 * (a failing disk, Redis down) lets every caller take: each worker then locks alone.
 */
export interface SharedLocks {
  /** take makes the caller the holder of `name` for at most `age` ms (then another may take over): its release, or undefined when another holds it. */
  take(name: string, age: number): Promise<Release | undefined>;
  /** wait resolves once `name` is free (released, or held past `age`), true, or after `timeout` ms, false. */
  wait(name: string, age: number, timeout: number): Promise<boolean>;
  close(): void;
}

/** CacheStore is where entries live. A failing store answers as an empty one and logs. */
export interface CacheStore {
  /** locks are the store's cross-process locks; a store of one process (memory) has none. */
  readonly locks?: SharedLocks;
  get(key: string): Promise<StoredEntry | undefined>;
  /**
   * peek is the entry under `key` when this process holds it in memory and knows it is still
   * the stored one, without waiting; undefined says nothing (get may still find one). A store
   * without it is always looked up with get.
   */
  peek?(key: string): StoredEntry | undefined;
  /** open starts writing an entry; `meta.size` is filled in at commit. */
  open(meta: Omit<EntryMeta, 'size'>): EntryWriter;
  /** update replaces an entry's head (after a 304 refreshed it), keeping its body. */
  update(meta: EntryMeta): Promise<void>;
  /** purge removes the entries whose key starts with `prefix`, or is `key` exactly when not a prefix; returns how many. */
  purge(key: string, prefix: boolean): Promise<number>;
  close(): Promise<void>;
}

/** HEAD_COST is what an entry's head is counted as in memory, besides its body (a rough size of its meta). */
export const HEAD_COST = 512;

/**
 * entryMeta is `head` with its body's size, as an object of one fixed shape. A spread
 * (`{ ...head, size }`) made each entry a new hidden class once V8's clone cache gave up, and a
 * micro-cache makes an entry a second: every one deoptimised the hit path and left its
 * property reads megamorphic.
 */
export function entryMeta(head: Omit<EntryMeta, 'size'>, size: number): EntryMeta {
  return { key: head.key, status: head.status, headers: head.headers, policy: head.policy, vary: head.vary, size };
}

/** wholeEntry is an entry whose body is held whole in memory. */
export function wholeEntry(meta: EntryMeta, body: Buffer): StoredEntry {
  return { meta, body, stream: (range?: ByteRange) => Readable.from([range ? body.subarray(range.start, range.end + 1) : body]) };
}
