// `gatekit status` and `top` print the admin API's /status for a person: a few tables.

/** StatusView is the part of GET /status the tables show. */
export interface StatusView {
  readonly version: string;
  readonly pid: number;
  readonly uptimeSeconds: number;
  readonly config: { readonly file: string; readonly generation: number };
  readonly lastReload: {
    readonly at: string;
    readonly outcome: string;
    readonly reason?: string;
    readonly diagnostics: readonly { file: string; line: number; column: number; severity: string; message: string }[];
  } | null;
  readonly workers: readonly {
    slot: number;
    pid: number | null;
    generation: number;
    state: string;
    requests: number;
    inFlight: number | null;
    rssBytes: number | null;
    cpuSeconds: number | null;
    loopDelayMs: { p99: number } | null;
  }[];
  readonly upstreams: readonly {
    id: string;
    proxy: string;
    healthy: boolean;
    reason?: string;
    drained: boolean;
    inFlight: number;
    requests: number;
    failures: number;
    meanLatencySeconds: number;
  }[];
  readonly pools: readonly { name: string; kind: string; size: number; busy: number; queue: number; processes: readonly { pid: number; state: string }[] }[];
}

/** table lays rows out in columns, the first row a header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const dash = (v: number | null | undefined, f: (n: number) => string): string => (v == null ? '-' : f(v));
const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
const ms = (s: number): string => `${(s * 1000).toFixed(1)} ms`;

/** duration writes seconds as 3d4h, 2h5m, 4m12s or 9s. */
export function duration(s: number): string {
  const d = Math.floor(s / 86400),
    h = Math.floor((s % 86400) / 3600),
    m = Math.floor((s % 3600) / 60),
    sec = Math.floor(s % 60);
  return d ? `${d}d${h}h` : h ? `${h}h${m}m` : m ? `${m}m${sec}s` : `${sec}s`;
}

/** statusText renders a status; `rates` (requests/s per worker pid, for top) adds a column. */
export function statusText(s: StatusView, rates?: ReadonlyMap<number, number>): string {
  const out = [`gatekit ${s.version}  pid ${s.pid}  up ${duration(s.uptimeSeconds)}  ${s.config.file}  generation ${s.config.generation}`];
  const r = s.lastReload;
  out.push(r ? `last reload: ${r.outcome} at ${r.at}${r.reason ? `: ${r.reason}` : ''}` : 'last reload: none');
  for (const d of r?.outcome === 'refused' ? r.diagnostics : []) out.push(`  ${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`);
  out.push(
    '',
    table([
      ['WORKER', 'PID', 'GEN', 'STATE', 'REQUESTS', ...(rates ? ['REQ/S'] : []), 'IN FLIGHT', 'RSS', 'CPU', 'LOOP P99'],
      ...s.workers.map((w) => [
        String(w.slot),
        String(w.pid ?? '-'),
        String(w.generation),
        w.state,
        String(w.requests),
        ...(rates ? [w.pid === null ? '-' : (rates.get(w.pid) ?? 0).toFixed(1)] : []),
        String(w.inFlight ?? '-'),
        dash(w.rssBytes, mb),
        dash(w.cpuSeconds, (c) => `${c.toFixed(1)} s`),
        dash(w.loopDelayMs?.p99, (d) => `${d} ms`),
      ]),
    ]),
  );
  if (s.upstreams.length) {
    out.push(
      '',
      table([
        ['UPSTREAM', 'PROXY', 'HEALTH', 'IN FLIGHT', 'REQUESTS', 'FAILURES', 'LATENCY'],
        ...s.upstreams.map((u) => [
          u.id,
          u.proxy,
          u.drained ? 'drained' : u.healthy ? 'healthy' : `down: ${u.reason ?? ''}`,
          String(u.inFlight),
          String(u.requests),
          String(u.failures),
          ms(u.meanLatencySeconds),
        ]),
      ]),
    );
  }
  if (s.pools.length) {
    out.push(
      '',
      table([
        ['POOL', 'KIND', 'PROCESSES', 'BUSY', 'QUEUED'],
        ...s.pools.map((p) => [p.name, p.kind, `${p.processes.length}/${p.size}`, String(p.busy), String(p.queue)]),
      ]),
    );
  }
  return out.join('\n');
}
