import { dirname, isAbsolute, resolve } from 'node:path';
import type { Address, ArgSpec } from './schema.js';
import { Template } from './template.js';

/** Parsed is a typed value, or the reason the text is not one ("expected ..."). */
export type Parsed = { ok: true; value: unknown } | { ok: false; expected: string };

const ok = (value: unknown): Parsed => ({ ok: true, value });
const bad = (expected: string): Parsed => ({ ok: false, expected });

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};
const BOOLS: Record<string, boolean> = { on: true, off: false, true: true, false: false };

/**
 * MAX_DURATION is the longest duration unless a spec says otherwise: Node's timers hold at
 * most 2^31-1 ms (about 24.8 days) and fire at once past it, and 24d leaves room for the
 * small margins code adds to a configured timeout.
 */
export const MAX_DURATION = 24 * DURATION_UNITS.d;
/** MAX_SIZE is the largest size unless a spec says otherwise (1 TiB: far above any body or buffer). */
export const MAX_SIZE = 1024 * SIZE_UNITS.gb;
/** MAX_UNIX_PATH is the longest unix socket path in bytes (sun_path holds 108, with the final NUL). */
const MAX_UNIX_PATH = 107;

/** parseDuration reads `250ms 30s 5m 1h 1d` (and sums like `1m30s`) into milliseconds. */
export function parseDuration(text: string): number | undefined {
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(text)) return undefined;
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) total += Number(m[1]) * DURATION_UNITS[m[2]];
  return Math.round(total);
}

/** parseSize reads `512B 64KB 10MB 1GB` (binary multiples; KiB etc. too; a bare number is bytes). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(text);
  if (!m) return undefined;
  const unit = m[2].toLowerCase() || 'b';
  return unit in SIZE_UNITS ? Math.floor(Number(m[1]) * SIZE_UNITS[unit]) : undefined;
}

/** parseAddress reads `8080`, `:8080`, `127.0.0.1:8080`, `[::1]:8080`, `host:8080`, `unix:/path.sock`. */
export function parseAddress(text: string): Address | undefined {
  if (text.startsWith('unix:')) {
    const path = text.slice(5);
    return path && Buffer.byteLength(path) <= MAX_UNIX_PATH ? { kind: 'unix', path, text } : undefined;
  }
  const m = /^(?:(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.*-]+))?:)?(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[1] ?? m[2];
  return host === undefined || host === '*' ? { kind: 'tcp', port, text } : { kind: 'tcp', host, port, text };
}

function parseInt10(text: string, spec: ArgSpec): Parsed {
  if (!/^-?\d+$/.test(text)) return bad(describeType(spec));
  const n = Number(text);
  if (spec.min !== undefined && n < spec.min) return bad(describeType(spec, ` of at least ${spec.min}`));
  const max = spec.max ?? Number.MAX_SAFE_INTEGER; // beyond it, numbers lose their last digits
  if (n > max) return bad(describeType(spec, ` of at most ${max}`));
  return ok(n);
}

/** bounded refuses a parsed duration or size above the spec's `max` (else the type's), naming the bound as written. */
function bounded(value: number | undefined, spec: ArgSpec, fallback: number, show: (n: number) => string): Parsed {
  if (value === undefined) return bad(describeType(spec));
  const max = spec.max ?? fallback;
  return value > max ? bad(`${spec.type === 'duration' ? 'a duration' : 'a size'} of at most ${show(max)}`) : ok(value);
}

/** showUnits writes a number in the largest unit that divides it: 2073600000 -> 24d. */
function showUnits(n: number, units: Record<string, number>): string {
  const [name, size] = Object.entries(units)
    .filter(([, u]) => n % u === 0)
    .sort((a, b) => b[1] - a[1])[0];
  return `${n / size}${name}`;
}

/** describeType says in words what an argument of this spec accepts, for messages; `bound` narrows an int or status. */
export function describeType(spec: ArgSpec, bound = ''): string {
  const also = spec.also?.length ? ` or ${spec.also.map((w) => `'${w}'`).join(', ')}` : '';
  switch (spec.type) {
    case 'int':
      return `an integer${bound}${also}`;
    case 'duration':
      return `a duration like 250ms, 30s, 5m, 1h or 1d${also}`;
    case 'size':
      return `a size like 512B, 64KB, 10MB or 1GB${also}`;
    case 'bool':
      return `on, off, true or false${also}`;
    case 'enum':
      return `one of ${(spec.values ?? []).map((v) => `'${v}'`).join(', ')}${also}`;
    case 'address':
      return `an address like 8080, 127.0.0.1:8080, [::1]:8080 or unix:/path.sock${also}`;
    case 'url':
      return `a URL like ${(spec.schemes ?? ['http'])[0]}://host:port${also}`;
    case 'status':
      return `an HTTP status code${bound}${also}`;
    case 'regex':
      return 'a regular expression';
    default:
      return `a ${spec.type}${also}`;
  }
}

/** parseValue checks `text` against an argument spec; `file` anchors relative paths. */
export function parseValue(text: string, spec: ArgSpec, file: string): Parsed {
  if (spec.also?.includes(text)) return ok(text);
  switch (spec.type) {
    case 'string':
      return ok(text);
    case 'template':
      return ok(new Template(text));
    case 'int':
      return parseInt10(text, spec);
    case 'status': {
      const r = parseInt10(text, { ...spec, min: spec.min ?? 100, max: spec.max ?? 599 });
      if (r.ok && spec.values && !spec.values.includes(text)) return bad(`one of ${spec.values.join(', ')}`);
      return r;
    }
    case 'duration':
      return bounded(parseDuration(text), spec, MAX_DURATION, (n) => showUnits(n, DURATION_UNITS));
    case 'size':
      return bounded(parseSize(text), spec, MAX_SIZE, (n) => showUnits(n, { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }));
    case 'bool':
      return text in BOOLS ? ok(BOOLS[text]) : bad(describeType(spec));
    case 'enum':
      return spec.values?.includes(text) ? ok(text) : bad(describeType(spec));
    case 'path':
      return text ? ok(isAbsolute(text) ? text : resolve(dirname(file), text)) : bad('a path');
    case 'address': {
      const v = parseAddress(text);
      if (v) return ok(v);
      return bad(text.startsWith('unix:') && text.length > 5 ? `a unix socket path of at most ${MAX_UNIX_PATH} bytes` : describeType(spec));
    }
    case 'url':
      return parseUrl(text, spec);
    case 'regex':
      try {
        return ok(new RegExp(text));
      } catch (e) {
        return bad(`a valid regular expression (${(e as Error).message.replace(/^Invalid regular expression: /, '')})`);
      }
  }
}

function parseUrl(text: string, spec: ArgSpec): Parsed {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad(describeType(spec));
  }
  const scheme = url.protocol.slice(0, -1);
  if (spec.schemes && !spec.schemes.includes(scheme)) return bad(`a URL with scheme ${spec.schemes.join(' or ')}`);
  return ok(text);
}
