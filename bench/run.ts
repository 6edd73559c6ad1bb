import 'reflect-metadata'; // before anything imports tsyringe
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { runAsgi } from './asgi.js';
import { runCache } from './cache.js';
import { ratioChart } from './chart.js';
import { CHART_FILE, RESULTS_FILE } from './paths.js';
import { runCgi } from './cgi.js';
import { runDjango } from './django.js';
import { runFastapi } from './fastapi.js';
import { runFastcgi } from './fastcgi.js';
import { runHttp2 } from './http2.js';
import { pickLoadGenerator } from './load.js';
import { runMiddleware } from './middleware.js';
import { runNginxStatic } from './nginx.js';
import { runNodeVersions } from './node-versions.js';
import { runParse } from './parse.js';
import { stopAll, takePeaks } from './procs.js';
import { runPrefork } from './prefork.js';
import { runProfile, runProfilePool } from './profile.js';
import { runProxy } from './proxy.js';
import { renderSection, type Ratio, type Section } from './report.js';
import { runAdmin } from './admin.js';
import { runRespond } from './respond.js';
import { describeLoad } from './settings.js';
import { runStartup } from './startup.js';
import { runStore } from './store.js';
import { runWsgi } from './wsgi.js';
import { runStatic } from './static.js';

// usage: node dist/bench/run.js [SCENARIO|GROUP...] (see SCENARIOS and GROUPS; no names: DEFAULT, which leaves out the profiles, django, fastapi and node-versions). Results go to stdout and bench/RESULTS.md.

const SCENARIOS: Record<string, () => Promise<Section>> = {
  parse: runParse,
  startup: runStartup,
  respond: runRespond,
  admin: runAdmin,
  prefork: runPrefork,
  static: runStatic,
  'nginx-static': runNginxStatic,
  wsgi: runWsgi,
  asgi: runAsgi,
  django: runDjango,
  fastapi: runFastapi,
  middleware: runMiddleware,
  proxy: runProxy,
  cgi: runCgi,
  fastcgi: runFastcgi,
  profile: runProfile,
  cache: runCache,
  store: runStore,
  http2: runHttp2,
  'profile-wsgi': () => runProfilePool('wsgi'),
  'profile-asgi': () => runProfilePool('asgi'),
  'node-versions': runNodeVersions,
};
const DEFAULT = ['parse', 'startup', 'respond', 'admin', 'prefork', 'static', 'nginx-static', 'http2', 'proxy', 'wsgi', 'asgi', 'middleware', 'cgi', 'fastcgi'];
/** GROUPS name several scenarios at once: `app-servers` is every comparison of gatekit's Python pool with the stacks it replaces. */
const GROUPS: Record<string, readonly string[]> = { 'app-servers': ['wsgi', 'asgi', 'django', 'fastapi'] };

function machine(): string {
  const c = cpus();
  return [
    `- machine: ${c[0]?.model.trim() ?? 'unknown CPU'}, ${c.length} cores; load average at start ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
    `- node ${process.version} (${process.platform} ${process.arch})`,
    `- load, every scenario: ${loadLine()}`,
    `- date: ${new Date().toISOString()}`,
  ].join('\n');
}

/** loadLine states the one load setting, or why there is no load generator. */
function loadLine(): string {
  try {
    return describeLoad(pickLoadGenerator().name);
  } catch (e) {
    return (e as Error).message;
  }
}

async function main(args: string[]): Promise<number> {
  const names = args.flatMap((n) => GROUPS[n] ?? [n]);
  const unknown = names.filter((n) => !SCENARIOS[n]);
  if (unknown.length) {
    process.stderr.write(
      `bench: unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}; groups: ${Object.keys(GROUPS).join(', ')}\n`,
    );
    return 2;
  }
  const run = names.length ? names : DEFAULT;
  const head = `# gatekit benchmarks\n\n${machine()}\n- scenarios: ${run.join(', ')} (\`node dist/bench/run.js ${run.join(' ')}\`)\n`;
  process.stdout.write(`${head}\n`);
  const sections: string[] = [];
  const ratios: Ratio[] = [];
  let failed = false;
  for (const n of run) {
    process.stderr.write(`bench: ${n}...\n`);
    try {
      const s = await SCENARIOS[n]();
      failed ||= !s.passed;
      ratios.push(...(s.ratios ?? []));
      const peaks = takePeaks().filter((x) => x.kib > 0 && !/^(wrk|autocannon)/.test(x.name));
      const memory = peaks.length
        ? [`peak RSS of the servers (process tree, VmHWM): ${peaks.map((x) => `${x.name} ${(x.kib / 1024).toFixed(0)} MiB`).join('; ')}.`]
        : [];
      sections.push(renderSection({ ...s, notes: [...s.notes, ...memory] }));
    } catch (e) {
      failed = true;
      sections.push(`## ${n}\n\n**error**: ${(e as Error).message}\n`);
    }
    process.stdout.write(`${sections[sections.length - 1]}\n`);
  }
  const md = `${head}\n![ratios](ratios.svg)\n\n${sections.join('\n')}`;
  writeFileSync(RESULTS_FILE, md);
  writeFileSync(CHART_FILE, ratioChart(ratios, `gatekit vs its peers, measured side by side (${new Date().toISOString().slice(0, 10)})`));
  process.stderr.write(`bench: wrote ${RESULTS_FILE}\n`);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  async (code) => {
    await stopAll();
    process.exitCode = code;
  },
  async (e: unknown) => {
    await stopAll();
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 3;
  },
);
