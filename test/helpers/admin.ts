import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { repoPath } from './paths.js';
import type { Served } from './cli.js';

/** VENV_PYTHON is the project venv's interpreter, where prometheus_client is installed (.ci/run does). */
export const VENV_PYTHON = repoPath('.venv', 'bin', 'python');

/** ADMIN_URL matches the master's log line that says where the admin API listens. */
export const ADMIN_URL = /admin API ready .*url=(http:\/\/127\.0\.0\.1:\d+\/)/;

/** adminUrl waits for a served gatekit's admin address. */
export async function adminUrl(served: Served, ms = 8000): Promise<string> {
  return (await served.waitFor(ADMIN_URL, ms))[1];
}

/** hasPrometheusClient tells whether the venv can import prometheus_client (the real parser the tests use). */
export function hasPrometheusClient(): Promise<boolean> {
  if (!existsSync(VENV_PYTHON)) return Promise.resolve(false);
  return new Promise((resolve) => execFile(VENV_PYTHON, ['-c', 'import prometheus_client'], (e) => resolve(!e)));
}

/** Sample is one parsed sample of an exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
  readonly family: string;
  readonly type: string;
}

const PARSE = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families as prom
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
text = sys.stdin.read()
out = []
for f in (om if sys.argv[1] == 'openmetrics' else prom)(text):
    for s in f.samples:
        out.append({'name': s.name, 'labels': s.labels, 'value': s.value, 'family': f.name, 'type': f.type})
print(json.dumps(out))
`;

/** parseExposition parses an exposition with prometheus_client's own parser (it throws on anything malformed). */
export function parseExposition(text: string, format: 'prometheus' | 'openmetrics'): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(VENV_PYTHON, ['-c', PARSE, format], { maxBuffer: 16 * 1024 * 1024 }, (e, stdout, stderr) => {
      if (e) reject(new Error(`prometheus_client refused the ${format} exposition: ${stderr}\n${text}`));
      else resolve(JSON.parse(stdout) as Sample[]);
    });
    child.stdin!.end(text);
  });
}

/** sampleValue finds one sample by name and labels (a subset). */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

/** postJson POSTs a JSON body to the admin API. */
export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}
