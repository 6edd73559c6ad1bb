import type { Span } from './ast.js';

// Where each value of a checked config was written, kept beside the config (not in it) so
// plugins see plain data, and their own checks can still point at the exact argument.
const spans = new WeakMap<object, Map<string | number, Span>>();

/** recordSpan notes that `config[key]` was written at `span`. */
export function recordSpan(config: object, key: string | number, span: Span): void {
  let m = spans.get(config);
  if (!m) spans.set(config, (m = new Map()));
  if (!m.has(key)) m.set(key, span);
}

/**
 * spanOf tells where a checked config value was written: `spanOf(cfg, 'fallback')` is the
 * argument of a one-argument option (else the option's name), `spanOf(cfg.upstreams, 1)` the
 * second element of a variadic argument or repeated option. Undefined for defaults.
 */
export function spanOf(config: object | undefined, key: string | number): Span | undefined {
  return config ? spans.get(config)?.get(key) : undefined;
}
