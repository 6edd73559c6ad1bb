import type { RedisOptions } from 'ioredis';

/** StoreAddress is what a `store` URL says: where Redis listens, and how to reach it. */
export type StoreAddress =
  | {
      readonly kind: 'tcp';
      readonly host: string;
      readonly port: number;
      readonly db: number;
      readonly tls: boolean;
      readonly user?: string;
      readonly password?: string;
    }
  | { readonly kind: 'unix'; readonly path: string; readonly db: number }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly { host: string; port: number }[];
      readonly name: string;
      readonly db: number;
      readonly tls: boolean;
    };

/** STORE_SCHEMES are the `store` URLs gatekit reads, for diagnostics. */
export const STORE_SCHEMES =
  'redis://HOST[:PORT][/DB], rediss://HOST[:PORT][/DB] (TLS), unix:/PATH.sock[?db=N] or redis-sentinel://HOST:PORT[,HOST:PORT...]/MASTER[/DB]';

/** parseStoreAddress reads a `store` URL; a string says what is wrong with it. */
export function parseStoreAddress(text: string): StoreAddress | string {
  if (text.startsWith('unix:')) {
    const [path, query = ''] = text
      .slice('unix:'.length)
      .replace(/^\/\/(?=\/)/, '')
      .split('?');
    if (!path.startsWith('/')) return 'a unix socket needs an absolute path: unix:/run/redis/redis.sock';
    const db = dbOf(new URLSearchParams(query).get('db') ?? '0');
    return typeof db === 'string' ? db : { kind: 'unix', path, db };
  }
  const sentinel = /^(redis-sentinel|rediss-sentinel):\/\/([^/]+)\/([^/]+)(?:\/(\d+))?$/.exec(text);
  if (sentinel) {
    const sentinels = sentinel[2].split(',').map(hostPort);
    if (sentinels.some((s) => s === undefined)) return 'each sentinel is HOST:PORT';
    return {
      kind: 'sentinel',
      sentinels: sentinels as { host: string; port: number }[],
      name: decodeURIComponent(sentinel[3]),
      db: Number(sentinel[4] ?? 0),
      tls: sentinel[1] === 'rediss-sentinel',
    };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return `unknown scheme '${url.protocol}'`;
  if (!url.hostname) return 'no host';
  const db = dbOf(url.pathname.replace(/^\//, '') || '0');
  if (typeof db === 'string') return db;
  return {
    kind: 'tcp',
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port || 6379),
    db,
    tls: url.protocol === 'rediss:',
    ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

/** redisOptions are ioredis's connection options for an address (password and timeouts are added by the caller); `ca` replaces the trusted authorities for TLS. */
export function redisOptions(a: StoreAddress, ca?: Buffer): RedisOptions {
  switch (a.kind) {
    case 'unix':
      return { path: a.path, db: a.db };
    case 'tcp':
      return {
        host: a.host,
        port: a.port,
        db: a.db,
        ...(a.tls ? { tls: { servername: a.host, ...(ca ? { ca } : {}) } } : {}),
        ...(a.user ? { username: a.user } : {}),
        ...(a.password ? { password: a.password } : {}),
      };
    case 'sentinel':
      return { sentinels: [...a.sentinels], name: a.name, db: a.db, ...(a.tls ? { tls: ca ? { ca } : {}, enableTLSForSentinelMode: true } : {}) };
  }
}

function dbOf(text: string): number | string {
  return /^\d{1,2}$/.test(text) ? Number(text) : `database '${text}' is not a number from 0 to 99`;
}

function hostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  return m ? { host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) } : undefined;
}
