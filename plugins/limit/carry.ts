import type { LocalCounters } from './counters.js';

/**
 * carryOver gives a reload's `limit` blocks the counters of the generation before, so a
 * reload does not hand every client a fresh burst (Nginx keeps its zones across reloads).
 *
 * A block keeps the counters of the block at the same place with the same settings. Blocks
 * that moved (a line added above them shifts their place) keep theirs too: among the blocks
 * left on each side, those with the same settings are paired in file order, when both sides
 * have as many. A block changed in place inherits what still holds (LocalCounters.inherit).
 * Anything else starts afresh. Both maps are keyed by block id, in file order.
 */
export function carryOver(before: ReadonlyMap<string, LocalCounters>, fresh: ReadonlyMap<string, LocalCounters>): Map<string, LocalCounters> {
  const out = new Map<string, LocalCounters>();
  for (const [id, c] of fresh) {
    const old = before.get(id);
    if (old?.signature === c.signature) out.set(id, old);
  }
  // blocks of the old config whose place the new one still uses are kept for that place
  const leftBefore = bySignature([...before].filter(([id]) => !fresh.has(id)));
  const leftFresh = bySignature([...fresh].filter(([id]) => !out.has(id)));
  for (const [signature, ids] of leftFresh) {
    const olds = leftBefore.get(signature);
    if (olds?.length !== ids.length) continue; // ambiguous: some were added or removed
    ids.forEach((id, i) => out.set(id, before.get(olds[i])!));
  }
  for (const [id, c] of fresh) {
    if (out.has(id)) continue;
    const old = before.get(id);
    if (old) c.inherit(old); // changed in place: it takes over what still holds
    out.set(id, c);
  }
  return new Map([...fresh.keys()].map((id) => [id, out.get(id)!]));
}

/** bySignature groups block ids by their settings, keeping file order within each group. */
function bySignature(blocks: readonly (readonly [string, LocalCounters])[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const [id, c] of blocks) {
    const ids = groups.get(c.signature);
    if (ids) ids.push(id);
    else groups.set(c.signature, [id]);
  }
  return groups;
}
