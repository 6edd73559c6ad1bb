import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pluginSkeleton } from '../kit/plugin-files.js';
import { EXIT, type Io } from './io.js';

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * newPluginCommand writes a plugin package, gatekit-plugin-NAME, in the current folder: the
 * plugin (JavaScript, or TypeScript with `typescript`), a .gate file that loads it, and a
 * mocha test that checks and serves it with gatekit. It never overwrites a folder.
 */
export function newPluginCommand(name: string, typescript: boolean, version: string, io: Io): number {
  if (!NAME.test(name)) {
    io.err(`gatekit new: invalid plugin name '${name}': a directive name is lower-case letters, digits and _ (e.g. hello_world)`);
    return EXIT.usage;
  }
  const dir = join(process.cwd(), `gatekit-plugin-${name.replace(/_/g, '-')}`);
  if (existsSync(dir)) {
    io.err(`gatekit new: ${relative(process.cwd(), dir)} exists already; nothing written`);
    return EXIT.runtime;
  }
  const source = cloneRoot();
  for (const [file, text] of pluginSkeleton({ name, typescript, version, ...(source ? { source } : {}) })) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const at = relative(process.cwd(), dir);
  io.out(`wrote ${at}: cd ${at} && npm install && npm test${typescript ? ' (builds with tsc first)' : ''}`);
  if (source) io.out(`its dev dependency gatekit-server is this clone, ${source}; once you install gatekit-server from the registry, make it "^${version}"`);
  return EXIT.ok;
}

/** cloneRoot is the folder of the running gatekit when it is a clone (npm link included), not a package installed in a node_modules. */
function cloneRoot(): string | undefined {
  const root = realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..')); // dist/cli/new.js
  return root.split(sep).includes('node_modules') ? undefined : root;
}
