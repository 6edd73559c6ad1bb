import { readFileSync } from 'node:fs';
import type { GlobalSettings } from '../config.js';
import type { Logger } from '../logger.js';

/**
 * dropPrivileges switches a process that runs as root to the `user` of the global block,
 * once its listeners are open (so it can bind ports below 1024 first). The master keeps
 * root, as Nginx's does, to open new listeners on reload; only workers (or the single
 * process) drop. A process not running as root is left alone.
 */
export function dropPrivileges(g: GlobalSettings, log: Logger): void {
  if (!g.user || typeof process.getuid !== 'function' || process.getuid() !== 0) return;
  const { name, group } = g.user;
  try {
    const gid = group ?? primaryGroup(name);
    (process as { initgroups?: (user: string, group: string | number) => void }).initgroups?.(name, gid);
    process.setgid!(gid);
    process.setuid!(name);
  } catch (e) {
    throw new Error(`cannot switch to user '${name}'${group ? ` and group '${group}'` : ''}: ${(e as Error).message}`, { cause: e });
  }
  log.debug('dropped privileges', { user: name, uid: process.getuid() });
}

/** primaryGroup reads a user's primary group id from /etc/passwd. */
function primaryGroup(user: string): number {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no user '${user}' in /etc/passwd`);
  return Number(line.split(':')[3]);
}
