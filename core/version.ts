import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** gatekitVersion is this package's version, from its package.json (dist/core/ sits two levels below it). */
export function gatekitVersion(): string {
  const file = fileURLToPath(new URL('../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
