/** Section is one scenario's results: a markdown table and notes under it. */
export interface Section {
  readonly title: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly notes: readonly string[];
  /** passed is false when a target was missed. */
  readonly passed: boolean;
  /** ratios are the scenario's headline figures for the chart (gatekit / peer, or budget / time). */
  readonly ratios?: readonly Ratio[];
}

/** Ratio is one bar of the chart: a measured ratio and the target it should reach (none: shown for information). */
export interface Ratio {
  readonly label: string;
  readonly value: number;
  readonly target?: number;
}

/** percentile returns the nearest-rank percentile (0 < p <= 100) of some samples. */
export function percentile(samples: readonly number[], p: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** median is the middle sample (the mean of the two middle ones for an even count). */
export function median(samples: readonly number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** ms formats milliseconds. */
export function ms(v: number): string {
  return v >= 100 ? `${v.toFixed(0)} ms` : v >= 10 ? `${v.toFixed(1)} ms` : `${v.toFixed(2)} ms`;
}

/** ratio formats a ratio as 0.93x. */
export function ratio(v: number): string {
  return `${v.toFixed(2)}x`;
}

/** verdict says pass or FAIL. */
export function verdict(ok: boolean): string {
  return ok ? 'pass' : '**FAIL**';
}

/** renderSection renders a section as markdown. */
export function renderSection(s: Section): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [`## ${s.title}`, '', line(s.header), line(s.header.map(() => '---')), ...s.rows.map(line), '', ...s.notes.map((n) => `- ${n}`), ''].join('\n');
}
