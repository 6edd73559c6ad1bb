import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { pluginSkeleton } from '../kit/plugin-files.js';
import { EXIT, type Io } from './io.js';

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * newPluginCommand writes a plugin package, gatekit-plugin-NAME, in the current folder: the
 * plugin (JavaScript, or TypeScript with `typescript`), a .gate file that loads it, and a
 * mocha test that checks and serves it with gatekit. It never overwrites a folder.
 */
export function newPluginCommand(name: string, typescript: boolean, version: string, io: Io): number {
  if (!NAME.test(name)) { io.err(`gatekit new: invalid plugin name '${name}': a directive name is lower-case letters, digits and _ (e.g. hello_world)`); return EXIT.usage; }
  const dir = join(process.cwd(), `gatekit-plugin-${name.replace(/_/g, '-')}`);
  if (existsSync(dir)) { io.err(`gatekit new: ${relative(process.cwd(), dir)} exists already; nothing written`); return EXIT.runtime; }
  for (const [file, text] of pluginSkeleton({ name, typescript, version })) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  const at = relative(process.cwd(), dir);
  io.out(`wrote ${at}: cd ${at} && npm install && npm test${typescript ? ' (builds with tsc first)' : ''}`);
  return EXIT.ok;
}
