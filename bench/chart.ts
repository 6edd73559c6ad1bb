import type { Ratio } from './report.js';

const ROW = 26;
const LABEL = 300;
const BAR = 420;
const MAX = 3; // ratios above 3x are drawn at the edge (the label says the value)

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * ratioChart draws the headline ratios as horizontal bars, one per figure, each with its
 * target as a tick: green when the target is met, red when not, grey when there is none.
 * 1.0x is marked across.
 */
export function ratioChart(ratios: readonly Ratio[], title: string): string {
  const height = 50 + ratios.length * ROW + 30;
  const x = (v: number): number => LABEL + (Math.min(v, MAX) / MAX) * BAR;
  const rows = ratios.map((r, i) => {
    const y = 40 + i * ROW;
    const fill = r.target === undefined ? '#8a8f98' : r.value >= r.target ? '#3a9a5b' : '#c94a3f';
    return [
      `<text x="${LABEL - 8}" y="${y + 15}" text-anchor="end">${esc(r.label)}</text>`,
      `<rect x="${LABEL}" y="${y + 3}" width="${(x(r.value) - LABEL).toFixed(1)}" height="${ROW - 8}" fill="${fill}"/>`,
      r.target === undefined
        ? ''
        : `<line x1="${x(r.target).toFixed(1)}" x2="${x(r.target).toFixed(1)}" y1="${y}" y2="${y + ROW - 2}" stroke="#222" stroke-width="2"/>`,
      `<text x="${(x(r.value) + 6).toFixed(1)}" y="${y + 15}">${r.value.toFixed(2)}x ${r.target === undefined ? '(no target)' : `(target ${r.target}x)`}</text>`,
    ].join('');
  });
  const one = x(1).toFixed(1);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${LABEL + BAR + 190}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<line x1="${one}" x2="${one}" y1="34" y2="${height - 24}" stroke="#999" stroke-dasharray="4 3"/>`,
    `<text x="${one}" y="${height - 10}" text-anchor="middle" fill="#666">1.0x</text>`,
    ...rows,
    '</svg>',
  ].join('\n');
}
