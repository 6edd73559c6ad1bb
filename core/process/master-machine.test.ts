import assert from 'node:assert/strict';
import type { GenerationSettings, MasterInput, MasterOutput } from './master-events.js';
import { BOOT_TIMEOUT, KILL_GRACE as GRACE, MasterMachine, MAX_BACKOFF, type MasterMode } from './master-machine.js';
import type { ToMaster } from './protocol.js';

// The master's decisions, scripted: fake time, inputs in, outputs asserted. A config is a string.

type Out = MasterOutput<string>;
type Kind = Out['kind'];

const settings = (workers: number, o: Partial<GenerationSettings> = {}): GenerationSettings => ({ workers, gracefulTimeout: 30_000, workerTimeout: 0, ...o });
const only = <K extends Kind>(outs: readonly Out[], kind: K): Extract<Out, { kind: K }>[] =>
  outs.filter((o): o is Extract<Out, { kind: K }> => o.kind === kind);
const logs = (outs: readonly Out[]): string[] => only(outs, 'log').map((l) => l.msg);
const forks = (outs: readonly Out[]): number[] => only(outs, 'fork').map((f) => f.id);
const drained = (outs: readonly Out[]): [number, number][] =>
  only(outs, 'send').flatMap((s) => (s.message.t === 'drain' ? [[s.id, s.message.timeout] as [number, number]] : []));
const killed = (outs: readonly Out[]): number[] => only(outs, 'kill').map((k) => k.id);
const pid = (id: number): number => 1000 + id;

/** Run drives one machine: it answers every fork with its pid, as the adapter does. */
class Run {
  readonly machine: MasterMachine<string>;
  now = 0;
  private generation = 0;

  constructor(mode: MasterMode = 'prefork') {
    this.machine = new MasterMachine({ mode, file: 'site.gate', pid: 1 });
  }

  step(i: MasterInput<string>): Out[] {
    const outs = this.machine.step(i, this.now);
    for (const id of forks(outs)) outs.push(...this.machine.step({ kind: 'forked', id, pid: pid(id) }, this.now));
    return outs;
  }

  at(ms: number): this {
    this.now = ms;
    return this;
  }
  tick(ms: number): Out[] {
    return this.at(ms).step({ kind: 'tick' });
  }
  say(id: number, message: ToMaster): Out[] {
    return this.step({ kind: 'message', id, message });
  }
  ready(...ids: number[]): Out[] {
    return ids.flatMap((id) => this.say(id, { t: 'ready' }));
  }
  exit(id: number, code: number | null = 1, signal: string | null = null): Out[] {
    return this.step({ kind: 'exit', id, code, signal });
  }
  fail(id: number, error: string): Out[] {
    this.say(id, { t: 'boot-failed', error });
    return this.exit(id, 1);
  }
  stop(fast = false): Out[] {
    return this.step({ kind: 'stop', fast, signal: fast ? 'QUIT' : 'TERM' });
  }
  resize(delta: 1 | -1): Out[] {
    return this.step({ kind: 'resize', delta });
  }
  partsStarted(): Out[] {
    return this.step({ kind: 'parts-started', generation: this.generation });
  }

  /** start feeds the first config and starts its parts; it returns the workers forked. */
  start(s: GenerationSettings = settings(2)): number[] {
    const outs = this.step({ kind: 'start', config: 'v1', settings: s });
    this.generation = only(outs, 'start-parts')[0].generation;
    return forks(this.partsStarted());
  }

  /** boot starts and readies the first generation. */
  boot(s?: GenerationSettings): number[] {
    const ids = this.start(s);
    this.ready(...ids);
    return ids;
  }

  /** loaded answers a reload's load-config with a config that checks; it returns the outputs. */
  loaded(config: string, s: GenerationSettings = settings(2)): Out[] {
    const outs = this.step({ kind: 'config-loaded', config, settings: s });
    const parts = only(outs, 'start-parts')[0];
    if (parts) this.generation = parts.generation;
    return outs;
  }

  /** reload runs a HUP up to the new generation's forks (prefork); it returns them. */
  reload(config = 'v2', s?: GenerationSettings): number[] {
    assert.deepEqual(this.step({ kind: 'reload' }), [{ kind: 'load-config' }]);
    this.loaded(config, s);
    return forks(this.partsStarted());
  }

  states(): string[] {
    return this.machine.snapshot(this.now).workers.map((w) => `${w.generation}/${w.slot}:${w.state}`);
  }
}

describe('master machine: start and steady state', () => {
  it('starts the master parts first, then forks one worker per slot, and is running once all are ready', () => {
    const r = new Run();
    assert.deepEqual(r.step({ kind: 'start', config: 'v1', settings: settings(2) }), [{ kind: 'start-parts', generation: 1, config: 'v1' }]);
    const outs = r.step({ kind: 'parts-started', generation: 1 });
    assert.deepEqual(
      only(outs, 'fork').map((f) => [f.slot, f.generation, f.config]),
      [
        [1, 1, 'v1'],
        [2, 1, 'v1'],
      ],
    );
    const [a, b] = forks(outs);
    assert.deepEqual(r.say(a, { t: 'hello' }), [{ kind: 'configure', id: a, slot: 1, generation: 1, config: 'v1' }]);
    assert.deepEqual(logs(r.ready(a)), ['worker ready']);
    const last = r.ready(b);
    assert.deepEqual(
      only(last, 'log').map((l) => [l.msg, l.fields]),
      [
        ['worker ready', { worker: 2, pid: pid(b), generation: 1 }],
        ['master running', { pid: 1, workers: 2, config: 'site.gate' }],
      ],
    );
  });

  it('exits 3 with the reason when a first worker dies before it is ready, killing the others and stopping the parts', () => {
    const r = new Run();
    const [a, b] = r.start();
    const outs = r.fail(a, 'cannot listen on 127.0.0.1:80: address already in use');
    assert.deepEqual(logs(outs), [`worker 1 (pid ${pid(a)}) exited with code 1: cannot listen on 127.0.0.1:80: address already in use`]);
    assert.deepEqual(killed(outs), [b]);
    assert.deepEqual(only(r.exit(b, null, 'SIGKILL'), 'stop-parts'), [{ kind: 'stop-parts', generation: 1, timeout: 0 }]);
    assert.deepEqual(r.step({ kind: 'parts-stopped', generation: 1 }), [
      { kind: 'exit', failure: 'cannot start: cannot listen on 127.0.0.1:80: address already in use' },
    ]);
  });

  it('exits 3 when the first master parts fail, forking nothing; and names the signal of a worker that said nothing', () => {
    const r = new Run();
    r.step({ kind: 'start', config: 'v1', settings: settings(2) });
    assert.deepEqual(r.step({ kind: 'parts-failed', generation: 1, error: "plugin 'wsgi' failed to start: boom" }), [
      { kind: 'exit', failure: "cannot start: plugin 'wsgi' failed to start: boom" },
    ]);

    const s = new Run();
    const [a, b] = s.start();
    s.exit(a, null, 'SIGSEGV');
    s.exit(b, null, 'SIGKILL');
    assert.deepEqual(s.step({ kind: 'parts-stopped', generation: 1 }), [
      { kind: 'exit', failure: 'cannot start: a worker exited with signal SIGSEGV before it was ready' },
    ]);
  });

  it('kills a worker not ready after the boot timeout', () => {
    const r = new Run();
    const [a, b] = r.start(settings(2));
    r.ready(b);
    assert.deepEqual(r.tick(BOOT_TIMEOUT), []);
    assert.deepEqual(killed(r.tick(BOOT_TIMEOUT + 1)), [a]);
    assert.deepEqual(killed(r.tick(BOOT_TIMEOUT + 500)), [], 'killed once');
    r.exit(a, null, 'SIGKILL');
    assert.equal(only(r.exit(b, 0), 'exit').length, 0);
    assert.deepEqual(r.step({ kind: 'parts-stopped', generation: 1 }), [{ kind: 'exit', failure: `cannot start: not ready after ${BOOT_TIMEOUT}ms` }]);
  });

  it('replaces a ready worker that dies at once, and backs off (doubling, capped) while its replacements die at start', () => {
    const r = new Run();
    const [a] = r.boot(settings(2));
    let outs = r.exit(a, null, 'SIGKILL');
    assert.deepEqual(logs(outs), [`worker 1 (pid ${pid(a)}) exited with signal SIGKILL`]);
    let [next] = forks(outs);
    assert.equal(only(outs, 'fork')[0].slot, 1);
    const waits: number[] = [];
    for (let i = 0; i < 11; i++) {
      outs = r.exit(next, 1);
      assert.deepEqual(forks(outs), []);
      const wait = Number(/next try in (\d+)ms/.exec(logs(outs)[1])![1]);
      waits.push(wait);
      assert.deepEqual(forks(r.tick(r.now + wait - 1)), [], 'not before its time');
      [next] = forks(r.tick(r.now + 1));
    }
    assert.deepEqual(waits, [100, 200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, MAX_BACKOFF, MAX_BACKOFF]);
    r.ready(next);
    assert.equal(forks(r.exit(next, null, 'SIGKILL')).length, 1, 'once one was ready, the next death is replaced at once');
    assert.equal(r.machine.snapshot(r.now).restarts, 13);
  });

  it('recycles after max_requests: the replacement starts first, and the old worker drains once it is ready', () => {
    const r = new Run();
    const [a, b] = r.boot();
    let outs = r.say(a, { t: 'recycle', requests: 5 });
    assert.deepEqual(
      only(outs, 'log').map((l) => [l.msg, l.fields]),
      [['worker reached max_requests; replacing it', { worker: 1, pid: pid(a), requests: 5 }]],
    );
    const [c] = forks(outs);
    assert.deepEqual(drained(outs), []);
    assert.deepEqual(r.say(a, { t: 'recycle', requests: 6 }), [], 'one replacement at a time');
    outs = r.ready(c);
    assert.deepEqual(drained(outs), [[a, 30_000]]);
    assert.deepEqual(forks(r.exit(a, 0)), []);
    assert.deepEqual(r.states(), ['1/2:ready', '1/1:ready']);
    assert.equal(b, 2);
  });

  it('keeps the old worker serving when its replacement dies before it is ready, and forks no other', () => {
    const r = new Run();
    const [a] = r.boot();
    const [c] = forks(r.say(a, { t: 'recycle', requests: 5 }));
    const outs = r.exit(c, 1);
    assert.deepEqual(
      [logs(outs), forks(outs), drained(outs)],
      [[`worker 1 (pid ${pid(c)}) exited with code 1`], [], []],
      'no backoff either: nothing is to be restarted',
    );
    assert.deepEqual(forks(r.tick(60_000)), []);
    assert.deepEqual(r.states(), ['1/1:ready', '1/2:ready']);
  });

  it('kills a ready worker that misses its heartbeats past worker_timeout (plus grace), and replaces it; 0s never kills', () => {
    const r = new Run();
    const [a, b] = r.boot(settings(2, { workerTimeout: 1000 }));
    r.at(2500).say(b, { t: 'beat', requests: 3 });
    assert.deepEqual(r.tick(1000 + GRACE), []);
    const outs = r.tick(1000 + GRACE + 1);
    assert.deepEqual(logs(outs), [`worker 1 (pid ${pid(a)}) missed its heartbeats for 3001ms; killing it`]);
    assert.deepEqual(killed(outs), [a]);
    assert.deepEqual(r.tick(3500), [], 'killed once; b beat at 2500');
    assert.equal(forks(r.exit(a, null, 'SIGKILL')).length, 1);

    const off = new Run();
    off.boot(settings(2, { workerTimeout: 0 }));
    assert.deepEqual(off.tick(1e9), []);
  });

  it('adds a worker on TTIN; TTOU drains the highest slot and never the last worker', () => {
    const r = new Run();
    const [a] = r.boot(settings(1));
    const [b] = forks(r.resize(1));
    r.ready(b);
    assert.deepEqual(drained(r.resize(-1)), [[b, 30_000]]);
    assert.deepEqual(r.resize(-1), []);
    assert.deepEqual(forks(r.exit(b, 0)), [], 'a retired slot is not refilled');
    assert.deepEqual(r.states(), ['1/1:ready']);
    assert.equal(a, 1);
  });

  it('answers a hello with drain from a worker of a rolled-back generation, or one told to drain before it listened', () => {
    const r = new Run();
    r.boot();
    const [c, d] = r.reload();
    r.fail(d, 'nope'); // c is killed, and may still say hello on its way out
    assert.deepEqual(r.say(c, { t: 'hello' }), [{ kind: 'send', id: c, message: { t: 'drain', timeout: 0 } }]);

    const s = new Run();
    s.boot(settings(1));
    const [b] = forks(s.resize(1));
    s.resize(-1);
    assert.deepEqual(s.say(b, { t: 'hello' }), [{ kind: 'send', id: b, message: { t: 'drain', timeout: 0 } }]);
  });
});

describe('master machine: stop', () => {
  it('stops gracefully: drains within graceful_timeout, kills what overstays, then stops the parts and exits 0', () => {
    const r = new Run();
    const [a, b] = r.boot(settings(2, { gracefulTimeout: 5000 }));
    const outs = r.stop();
    assert.deepEqual(
      only(outs, 'log').map((l) => [l.msg, l.fields]),
      [['stopping', { signal: 'TERM' }]],
    );
    assert.deepEqual(drained(outs), [
      [a, 5000],
      [b, 5000],
    ]);
    assert.deepEqual(r.stop(), [], 'a second TERM changes nothing');
    assert.deepEqual(r.step({ kind: 'reload' }), [], 'nor does a HUP');
    assert.deepEqual(logs(r.exit(a, 0)), ['worker exited']);
    assert.deepEqual(r.tick(5000 + GRACE - 1), []);
    assert.deepEqual(killed(r.tick(5000 + GRACE)), [b]);
    assert.deepEqual(only(r.exit(b, null, 'SIGKILL'), 'stop-parts'), [{ kind: 'stop-parts', generation: 1, timeout: 5000 }]);
    assert.deepEqual(r.step({ kind: 'parts-stopped', generation: 1 }), [{ kind: 'exit' }]);
  });

  it('stops fast on QUIT: a booting worker is killed, ready ones drain with 0s; a QUIT after TERM kills those draining', () => {
    const r = new Run();
    const [a, b] = r.boot();
    const [c] = forks(r.resize(1));
    const term = r.stop();
    assert.deepEqual(
      [drained(term), killed(term)],
      [
        [
          [a, 30_000],
          [b, 30_000],
        ],
        [c],
      ],
    );
    const quit = r.stop(true);
    assert.deepEqual([logs(quit), killed(quit)], [['stopping'], [a, b]]);
    for (const id of [a, b, c]) r.exit(id, null, 'SIGKILL');
    assert.deepEqual(r.step({ kind: 'parts-stopped', generation: 1 }), [{ kind: 'exit' }]);

    const q = new Run();
    const [x] = q.boot(settings(1));
    assert.deepEqual(drained(q.stop(true)), [[x, 0]]);
    assert.deepEqual(killed(q.tick(GRACE)), [x]);
  });

  it('drops a reload under way: a config read while stopping gets no verdict, and parts started meanwhile are stopped', () => {
    const r = new Run();
    const [a] = r.boot(settings(1));
    r.step({ kind: 'reload' });
    r.stop();
    assert.deepEqual(r.step({ kind: 'config-loaded', config: 'v2', settings: settings(1) }), []);
    r.exit(a, 0);
    assert.deepEqual(r.step({ kind: 'parts-stopped', generation: 1 }), [{ kind: 'exit' }]);

    const s = new Run();
    const [b] = s.boot(settings(1));
    s.step({ kind: 'reload' });
    s.loaded('v2', settings(1));
    s.stop();
    s.exit(b, 0);
    assert.deepEqual(s.partsStarted(), [{ kind: 'stop-parts', generation: 2, timeout: 30_000 }], 'no fork for a generation started while stopping');
    s.step({ kind: 'parts-stopped', generation: 1 });
    assert.deepEqual(s.step({ kind: 'parts-stopped', generation: 2 }), [{ kind: 'exit' }]);
  });
});

describe('master machine: reload', () => {
  it('starts the new generation (parts with the previous one, then workers) and drains the old only once every new worker is ready', () => {
    const r = new Run();
    const [a, b] = r.boot();
    assert.deepEqual(r.at(1000).step({ kind: 'reload' }), [{ kind: 'load-config' }]);
    assert.deepEqual(r.at(1100).loaded('v2'), [
      { kind: 'diagnostics', config: 'v2' },
      { kind: 'start-parts', generation: 2, config: 'v2', previous: 1 },
    ]);
    const outs = r.partsStarted();
    assert.deepEqual(
      only(outs, 'log').map((l) => [l.msg, l.fields]),
      [['reloading', { generation: 2, workers: 2 }]],
    );
    const [c, d] = forks(outs);
    assert.deepEqual(only(r.say(c, { t: 'hello' }), 'configure')[0].config, 'v2');
    assert.deepEqual(drained(r.ready(c)), []);
    const done = r.ready(d);
    assert.deepEqual(drained(done), [
      [a, 30_000],
      [b, 30_000],
    ]);
    assert.deepEqual(logs(done), ['worker ready', 'reloaded: new workers ready, old ones draining']);
    assert.deepEqual(only(done, 'verdict'), [{ kind: 'verdict', at: 1000, outcome: 'reloaded', config: 'v2' }]);
    assert.deepEqual(only(r.exit(a, 0), 'stop-parts'), []);
    assert.deepEqual(only(r.exit(b, 0), 'stop-parts'), [{ kind: 'stop-parts', generation: 1, timeout: 30_000 }], 'the old parts stop with its last worker');
    assert.deepEqual(r.machine.snapshot(r.now).reloads, 1);
  });

  it('refuses a config with errors and keeps the old generation, logging the diagnostics; the next HUP reads again', () => {
    const r = new Run();
    r.boot();
    r.at(500).step({ kind: 'reload' });
    const outs = r.step({ kind: 'config-refused', config: 'bad' });
    assert.deepEqual(outs, [
      { kind: 'log', level: 'error', msg: 'reload refused: the new config has errors; still serving the old one', fields: { config: 'site.gate' } },
      { kind: 'diagnostics', config: 'bad' },
      { kind: 'verdict', at: 500, outcome: 'refused', config: 'bad' },
    ]);
    assert.deepEqual(r.states(), ['1/1:ready', '1/2:ready']);
    assert.deepEqual(r.step({ kind: 'reload' }), [{ kind: 'load-config' }]);
  });

  it('keeps the old generation when the new master parts fail to start', () => {
    const r = new Run();
    r.boot();
    r.at(700).step({ kind: 'reload' });
    r.loaded('v2');
    const outs = r.step({ kind: 'parts-failed', generation: 2, error: "plugin 'wsgi' failed to start: boom" });
    assert.deepEqual(
      only(outs, 'log').map((l) => [l.msg, l.fields]),
      [['reload failed; still serving the old config', { reason: "plugin 'wsgi' failed to start: boom", generation: 1 }]],
    );
    assert.deepEqual(only(outs, 'verdict'), [{ kind: 'verdict', at: 700, outcome: 'failed', config: 'v2', reason: "plugin 'wsgi' failed to start: boom" }]);
    assert.deepEqual([forks(outs), drained(outs)], [[], []]);
  });

  it('rolls back when a new worker dies before it is ready: the other new ones are killed, their parts stopped, the old ones untouched', () => {
    const r = new Run();
    const [a, b] = r.boot();
    r.at(900);
    const [c, d] = r.reload();
    r.ready(c);
    const outs = r.fail(d, 'cannot listen on 127.0.0.1:81: address already in use');
    assert.deepEqual(killed(outs), [c]);
    assert.deepEqual(drained(outs), []);
    assert.deepEqual(logs(outs).slice(1), ['reload failed: new workers did not become ready; still serving the old config']);
    assert.deepEqual(only(outs, 'verdict'), [
      {
        kind: 'verdict',
        at: 900,
        outcome: 'failed',
        config: 'v2',
        reason: 'new workers did not become ready: cannot listen on 127.0.0.1:81: address already in use',
      },
    ]);
    assert.deepEqual(only(r.exit(c, null, 'SIGKILL'), 'stop-parts'), [{ kind: 'stop-parts', generation: 2, timeout: 0 }]);
    assert.deepEqual(r.states(), ['1/1:ready', '1/2:ready']);
    assert.deepEqual(r.machine.snapshot(r.now).generation, 1);
    assert.deepEqual([a, b], [1, 2]);
    assert.deepEqual(r.step({ kind: 'reload' }), [{ kind: 'load-config' }], 'the next HUP reloads');
  });

  it('goes on with a reload when a recycle replacement of the old generation dies before it is ready', () => {
    const r = new Run();
    const [a, b] = r.boot();
    const [e] = forks(r.say(a, { t: 'recycle', requests: 5 }));
    const [c, d] = r.reload();
    const outs = r.exit(e, 1);
    assert.deepEqual([forks(outs), killed(outs), only(outs, 'verdict')], [[], [], []]);
    const done = r.ready(c, d);
    assert.deepEqual(drained(done), [
      [a, 30_000],
      [b, 30_000],
    ]);
    assert.equal(only(done, 'verdict')[0].outcome, 'reloaded');
  });

  it('rolls back while a recycle is pending: the replacement still takes over from the recycled worker', () => {
    const r = new Run();
    const [a, b] = r.boot();
    const [e] = forks(r.say(a, { t: 'recycle', requests: 5 }));
    const [c, d] = r.reload();
    assert.equal(only(r.fail(d, 'boom'), 'verdict')[0].outcome, 'failed');
    r.exit(c, null, 'SIGKILL');
    const outs = r.ready(e);
    assert.deepEqual([drained(outs), forks(outs)], [[[a, 30_000]], []]);
    r.exit(a, 0);
    assert.deepEqual(r.states(), ['1/2:ready', '1/1:ready']);
    assert.equal(b, 2);
  });

  it('applies TTOU during a reload to both generations: the reload completes without the slot dropped', () => {
    const r = new Run();
    const [a, b] = r.boot();
    const [c, d] = r.reload();
    r.ready(c);
    const outs = r.resize(-1);
    assert.deepEqual(drained(outs), [
      [b, 30_000],
      [d, 30_000],
      [a, 30_000],
    ]);
    assert.deepEqual(
      only(outs, 'log').map((l) => [l.msg, l.fields]),
      [['reloaded: new workers ready, old ones draining', { generation: 2, workers: 1 }]],
    );
    assert.deepEqual(r.ready(d), [], 'told to drain while it booted, it stays draining');
    assert.deepEqual(only(r.exit(d, 0), 'verdict'), [], 'a worker retired by TTOU is no failed reload');
    r.exit(a, 0);
    r.exit(b, 0);
    assert.deepEqual(r.states(), ['2/1:ready']);
  });

  it('applies TTIN during a reload to both generations: the reload waits for the extra new worker', () => {
    const r = new Run();
    const [a] = r.boot(settings(1));
    const [c] = r.reload('v2', settings(1));
    const grown = r.resize(1);
    assert.deepEqual(
      only(grown, 'fork').map((f) => [f.generation, f.slot]),
      [
        [1, 2],
        [2, 2],
      ],
    );
    const [b, e] = forks(grown);
    assert.deepEqual(only(r.ready(c), 'verdict'), []);
    const done = r.ready(e);
    assert.deepEqual(drained(done), [
      [a, 30_000],
      [b, 30_000],
    ]);
  });

  it('turns a HUP storm into one reload after the start, and one more after a reload under way', () => {
    const r = new Run();
    const ids = r.start();
    for (let i = 0; i < 5; i++) assert.deepEqual(r.step({ kind: 'reload' }), []);
    const ready = r.ready(...ids);
    assert.deepEqual(only(ready, 'load-config').length, 1, 'the start is done, then the queued HUP reads the config');
    r.at(100).loaded('v2');
    const [c, d] = forks(r.partsStarted());
    for (let i = 0; i < 10; i++) assert.deepEqual(r.at(200 + i).step({ kind: 'reload' }), []);
    const done = r.at(300).ready(c, d);
    assert.deepEqual(
      only(done, 'verdict').map((v) => v.at),
      [0],
    );
    assert.deepEqual(
      done.filter((o) => o.kind === 'verdict' || o.kind === 'load-config').map((o) => o.kind),
      ['verdict', 'load-config'],
    );
    r.at(400).loaded('v3');
    const [e, f] = forks(r.partsStarted());
    const last = r.ready(e, f);
    assert.deepEqual(
      only(last, 'verdict').map((v) => [v.at, v.config]),
      [[300, 'v3']],
      'read after every HUP of the storm',
    );
    assert.deepEqual(only(last, 'load-config'), []);
  });

  it('kills the oldest generation still draining when a third one would drain', () => {
    const r = new Run();
    const [a] = r.boot(settings(1));
    r.ready(...r.reload('v2', settings(1)));
    r.ready(...r.reload('v3', settings(1)));
    const outs = r.ready(...r.reload('v4', settings(1)));
    assert.deepEqual(killed(outs), [a]);
    assert.deepEqual(
      only(outs, 'log')
        .filter((l) => l.level === 'warn')
        .map((l) => [l.msg, l.fields]),
      [['too many generations draining; killing the oldest', { generation: 1 }]],
    );
  });
});

describe('master machine: workers 0 (one in-process worker)', () => {
  const single = (): { r: Run; a: number } => {
    const r = new Run('single');
    const [a] = r.start(settings(0));
    assert.deepEqual(r.ready(a), [], 'no worker lines: it logs where it listens itself');
    return { r, a };
  };
  /** reloadSingle runs a HUP up to the new generation's fork: it starts beside the old one, which keeps serving. */
  const reloadSingle = (r: Run, _a: number): number => {
    r.at(1000).step({ kind: 'reload' });
    const outs = r.loaded('v2', settings(0));
    assert.deepEqual(outs, [
      { kind: 'diagnostics', config: 'v2' },
      { kind: 'start-parts', generation: 2, config: 'v2', previous: 1 },
    ]);
    return forks(r.step({ kind: 'parts-started', generation: 2 }))[0];
  };

  it('reloads by starting the new worker beside the old one, then draining the old one and its parts', () => {
    const { r, a } = single();
    const b = reloadSingle(r, a);
    assert.deepEqual(r.ready(b), [
      { kind: 'send', id: a, message: { t: 'drain', timeout: 30_000 } },
      { kind: 'log', level: 'info', msg: 'reloaded', fields: { config: 'site.gate' } },
      { kind: 'verdict', at: 1000, outcome: 'reloaded', config: 'v2' },
    ]);
    assert.deepEqual(r.exit(a, 0), [{ kind: 'stop-parts', generation: 1, timeout: 30_000 }]);
  });

  it('keeps serving the old config when the new one cannot be served, and answers failed at once', () => {
    const { r, a } = single();
    const b = reloadSingle(r, a);
    const outs = r.fail(b, 'cannot listen on 127.0.0.1:81: address already in use');
    assert.deepEqual(only(outs, 'send'), [], 'the old worker is not drained');
    assert.deepEqual(logs(outs), ['reload failed; still serving the old config']);
    assert.deepEqual(only(outs, 'verdict'), [
      { kind: 'verdict', at: 1000, outcome: 'failed', config: 'v2', reason: 'cannot listen on 127.0.0.1:81: address already in use' },
    ]);
    assert.deepEqual(only(outs, 'stop-parts'), [{ kind: 'stop-parts', generation: 2, timeout: 0 }]);
    r.step({ kind: 'parts-stopped', generation: 2 });
    assert.deepEqual(r.step({ kind: 'reload' }), [{ kind: 'load-config' }]);
  });

  it('queues a HUP that comes while it starts, ignores TTIN and TTOU with a warning, and never kills on time', () => {
    const r = new Run('single');
    const [a] = r.start(settings(0));
    assert.deepEqual(r.step({ kind: 'reload' }), []);
    assert.deepEqual(r.ready(a), [{ kind: 'load-config' }]);
    assert.deepEqual(logs(r.resize(1)), ['TTIN ignored: with workers 0 there is no worker to add or retire']);
    assert.deepEqual(r.tick(1e9), []);
  });

  it('stops the worker asked to stop while it starts (closed once it has started), then the parts', () => {
    const r = new Run('single');
    const [a] = r.start(settings(0, { gracefulTimeout: 5000 }));
    assert.deepEqual(killed(r.stop()), [a]);
    assert.deepEqual(r.exit(a, 0), [{ kind: 'stop-parts', generation: 1, timeout: 5000 }]);
    assert.deepEqual(r.step({ kind: 'parts-stopped', generation: 1 }), [{ kind: 'exit' }]);
  });
});
