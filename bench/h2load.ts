import { runTool, type LoadGenerator, type LoadResult } from './load.js';

// h2load, from Debian's nghttp2-client (apt-get install -y nghttp2-client): HTTP/2 load with
// several streams in flight on each connection, which wrk cannot make.

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };

/** parseH2load reads h2load's summary: req/s, requests done and failed, and the mean time per request (it reports no percentiles). */
export function parseH2load(text: string): LoadResult {
  const rps = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(text);
  const reqs = /requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(text);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(text);
  const time = /time for request:\s+[\d.]+(?:us|ms|s)\s+[\d.]+(?:us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(text);
  if (!rps || !reqs || !codes || !time) throw new Error(`cannot read h2load output:\n${text}`);
  const mean = Number(time[1]) * UNIT_MS[time[2]];
  const errors = Number(reqs[4]) + Number(reqs[5]) + Number(reqs[6]) + Number(codes[3]) + Number(codes[4]);
  return { rps: Number(rps[1]), p50Ms: mean, p99Ms: mean, requests: Number(reqs[2]), errors };
}

/** h2loadGenerator runs `h2load -c CONNECTIONS -m STREAMS` (one thread) for the round's seconds; p50Ms and p99Ms hold its mean. */
export function h2loadGenerator(streams: number): LoadGenerator {
  return {
    name: `h2load -m ${streams}`,
    async run(url, o) {
      const { out, cores } = await runTool(
        'h2load',
        'h2load',
        ['-c', String(o.connections), '-m', String(streams), '-t', '1', '-D', String(o.seconds), url],
        o.seconds,
      );
      return { ...parseH2load(out), ...(cores !== undefined ? { generatorCores: cores } : {}) };
    },
  };
}
