import type { Directive } from './ast.js';

/**
 * capturesWithin is the most regex groups ($1..$9) a request can carry where a block's
 * directives apply: a request gets the groups of the regex route that matched it, and the
 * routes that can match here are the block's own (when it is `route ~ REGEX`) and those
 * nested in it. A pattern that does not compile counts as 9: it is reported on its own.
 */
export function capturesWithin(block: readonly Directive[], own?: Directive): number {
  let most = own ? groupsOf(own) : 0;
  for (const d of block) {
    if (d.name !== 'route') continue;
    most = Math.max(most, capturesWithin(d.block ?? [], d));
  }
  return most;
}

/** groupsOf counts the capture groups of a `route ~ REGEX`; any other route has none. */
function groupsOf(route: Directive): number {
  const [op, pattern] = route.args;
  if (op?.value !== '~' || pattern === undefined) return 0;
  try {
    return new RegExp(`${pattern.value}|`).exec('')!.length - 1;
  } catch {
    return 9;
  }
}
