// The one load setting of every scenario. Ratios measured under different settings do not
// compare (on 2 cores, wrk -t1 and -t2 rank the servers differently), so every scenario
// takes its load from here and each run states it in its head.

/** envInt reads a positive integer from the environment, or `dflt`. */
export function envInt(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : dflt;
}

/**
 * settings is the load every scenario puts on each server: wrk threads and connections kept
 * alive, seconds per round, rounds (alternating order), and a warm-up run first;
 * GATEKIT_BENCH_THREADS, _CONNECTIONS, _SECONDS and _ROUNDS override them.
 */
export const settings = {
  threads: envInt('GATEKIT_BENCH_THREADS', 2),
  connections: envInt('GATEKIT_BENCH_CONNECTIONS', 64),
  seconds: envInt('GATEKIT_BENCH_SECONDS', 5),
  rounds: envInt('GATEKIT_BENCH_ROUNDS', 5),
  warmupSeconds: 2,
};

/** describeLoad states the setting in one line, as the head of the results shows it. */
export function describeLoad(generator: string): string {
  const tool = generator === 'wrk' ? `wrk -t${settings.threads} -c${settings.connections}` : `${generator} -c ${settings.connections}`;
  return (
    `${tool}, keep-alive; ${settings.rounds} rounds x ${settings.seconds} s per server after a ${settings.warmupSeconds} s warm-up, ` +
    'order alternating every round; medians of the rounds'
  );
}
