/** ByteRange is an inclusive range of byte offsets. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** RangeRequest is a parsed Range header: the ranges to send, 'unsatisfiable' (416), or undefined (send it all). */
export type RangeRequest = readonly ByteRange[] | 'unsatisfiable' | undefined;

/** MAX_RANGES bounds the ranges of one request; past it the header is ignored (RFC 9110 14.2 allows that). */
const MAX_RANGES = 64;
const SPEC = /^(\d*)-(\d*)$/;

/**
 * parseRange reads a `bytes=` Range header against a representation of `size` bytes.
 * A malformed header, another unit, too many ranges, or an empty file is ignored (the whole
 * file is sent); ranges that all start at or past the end are unsatisfiable; overlapping ranges are merged so a
 * request cannot multiply the bytes it asks for.
 */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  // An empty representation has no byte to point at: send it whole, as Nginx does (RFC 9110 14.2 allows ignoring).
  if (header === undefined || size === 0) return undefined;
  const eq = header.indexOf('=');
  if (eq < 0 || header.slice(0, eq).trim().toLowerCase() !== 'bytes') return undefined;
  const specs = header.slice(eq + 1).split(',');
  if (specs.length > MAX_RANGES) return undefined;
  const out: ByteRange[] = [];
  for (const raw of specs) {
    const spec = raw.trim();
    if (spec === '') continue;
    const m = SPEC.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return undefined;
    if (m[1] === '') {
      const suffix = Number(m[2]);
      if (suffix > 0 && size > 0) out.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(m[1]);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
    // A first byte at or past the end is unsatisfiable (RFC 9110 14.1.1), open-ended or not.
    if (start < size) out.push({ start, end: m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1) });
  }
  if (out.length === 0) return 'unsatisfiable';
  return overlaps(out) ? merge(out) : out;
}

function overlaps(rs: readonly ByteRange[]): boolean {
  const sorted = [...rs].sort((a, b) => a.start - b.start);
  return sorted.some((r, i) => i > 0 && r.start <= sorted[i - 1].end);
}

function merge(rs: readonly ByteRange[]): ByteRange[] {
  const sorted = [...rs].sort((a, b) => a.start - b.start);
  const out: ByteRange[] = [{ ...sorted[0] }];
  for (const r of sorted.slice(1)) {
    const last = out[out.length - 1];
    if (r.start <= last.end + 1) out[out.length - 1] = { start: last.start, end: Math.max(last.end, r.end) };
    else out.push({ ...r });
  }
  return out;
}
