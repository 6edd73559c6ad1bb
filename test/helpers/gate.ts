import { container } from 'tsyringe';
import type { Diagnostic } from '../../dsl/diagnostics.js';
import type { Env } from '../../dsl/env.js';
import { registerPlugin } from '../../core/container.js';
import { Gate, type BoundAddress } from '../../core/gate.js';
import { loadConfig, type Loaded } from '../../core/load.js';
import { TextLogger } from '../../core/logger.js';
import { startMasterParts } from '../../core/process/master-parts.js';
import { RunDirs } from '../../core/process/run-dirs.js';
import type { PluginClass } from '../../core/plugin.js';
import { registerBuiltins } from '../../plugins/index.js';

/** GateOptions adjust how a test config is loaded. */
export interface GateOptions {
  /** file is the name the config pretends to have (relative paths resolve from its folder). */
  readonly file?: string;
  readonly env?: Env;
  /** plugins are extra plugin classes registered beside the built-ins. */
  readonly plugins?: readonly PluginClass[];
}

/** TestGate is a running gate on 127.0.0.1 with its log lines captured. */
export interface TestGate {
  readonly gate: Gate;
  readonly logs: string[];
  readonly addresses: BoundAddress[];
  /** port is the first listener's port. */
  readonly port: number;
  /** url builds http://127.0.0.1:PORT/path for the first listener. */
  url(path?: string): string;
  close(): Promise<void>;
}

/** testRoot makes a root container with the built-ins (and extra plugins) registered. */
export function testRoot(plugins: readonly PluginClass[] = []) {
  const root = container.createChildContainer();
  registerBuiltins(root);
  for (const P of plugins) registerPlugin(root, P);
  return root;
}

/** loadGate loads a config from text, as the CLI would from a file. */
export function loadTestGate(text: string, o: GateOptions = {}): Promise<Loaded> {
  return loadConfig(o.file ?? 't.gate', { root: testRoot(o.plugins), text, env: o.env ?? {} });
}

/** checkGate returns the diagnostics of a config given as text. */
export async function checkGate(text: string, o: GateOptions = {}): Promise<readonly Diagnostic[]> {
  return (await loadTestGate(text, o)).diagnostics;
}

/** startGate loads a config from text and serves it; it throws with rendered diagnostics when the config has errors. */
export async function startGate(text: string, o: GateOptions = {}): Promise<TestGate> {
  const loaded = await loadTestGate(text, o);
  if (!loaded.config) {
    throw new Error(`config has errors:\n${loaded.diagnostics.map((d) => `${d.span.line}:${d.span.col} ${d.code} ${d.message}`).join('\n')}`);
  }
  const logs: string[] = [];
  const logger = new TextLogger((l) => logs.push(l), 'debug');
  // As `gatekit run` with workers 0 does: the generation's run folder, the plugins' master parts (process pools), then the gate.
  const runDirs = new RunDirs();
  const runDir = runDirs.open(1);
  let gate: Gate;
  let parts: Awaited<ReturnType<typeof startMasterParts>>;
  try {
    parts = await startMasterParts(loaded, { generation: 1, role: 'single', runDir }, logger);
  } catch (e) {
    runDirs.removeAll();
    throw e;
  }
  try {
    gate = await Gate.start(loaded, { logger, process: { pid: process.pid, role: 'single', workerId: 0, generation: 1, runDir } });
  } catch (e) {
    await parts.stop(0);
    runDirs.removeAll();
    throw e;
  }
  const addresses = gate.addresses();
  const port = addresses[0]?.port ?? 0;
  return {
    gate,
    logs,
    addresses,
    port,
    url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    close: async () => {
      await gate.close(1000);
      await parts.stop(1000);
      runDirs.removeAll();
    },
  };
}
