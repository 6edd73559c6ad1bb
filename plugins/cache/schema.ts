import { arg, directive, type ConfigOf } from '../../core/index.js';

/** cache stores responses and answers from them: `cache { ttl 1s; store disk ./cache { max_size 1GB } }`. */
export const cache = directive({
  name: 'cache',
  kind: 'middleware',
  doc:
    'Cache responses (RFC 9111, as a shared cache: the proxy_cache role) in front of any handler: cache { ttl DURATION [STATUS...]; key TEMPLATE; ' +
    'methods M...; bypass $VAR...; no_store $VAR...; stale_while_revalidate D; stale_if_error D; max_size SIZE; lock [TIMEOUT]; ' +
    'store memory|disk|redis [DIR] { max_size SIZE; max_entry SIZE }; header on; purge_from CIDR... }',
  schema: {
    options: [
      {
        name: 'ttl',
        repeatable: true,
        doc: 'Freshness for responses that give none (no max-age, s-maxage or Expires), for the statuses listed (default 200 301 302), as Nginx proxy_cache_valid; without it such responses are not cached',
        args: [arg.duration('time'), arg.status('status', { variadic: true, optional: true })],
      },
      { name: 'key', doc: 'The cache key, a template of request variables (default "$scheme://$host$uri")', args: [arg.template('template')] },
      {
        name: 'methods',
        doc: 'Methods answered from the cache; a HEAD is answered from a stored GET',
        default: 'GET HEAD',
        args: [arg.string('method', { variadic: true })],
      },
      {
        name: 'bypass',
        repeatable: true,
        doc: 'Go to the handler (and store its answer) when any of these request variables is set and not "0": bypass $cookie_nocache $arg_nocache',
        args: [arg.template('value', { variadic: true })],
      },
      {
        name: 'no_store',
        repeatable: true,
        doc: 'Never store the answer when any of these request variables is set and not "0": no_store $cookie_sessionid',
        args: [arg.template('value', { variadic: true })],
      },
      {
        name: 'stale_while_revalidate',
        doc: 'Answer with a stale response this long past its freshness while one background request refreshes it, unless the response says otherwise',
        default: '0s',
        args: [arg.duration('time')],
      },
      {
        name: 'stale_if_error',
        doc: 'Answer with a stale response this long past its freshness when the handler fails (5xx or no answer), unless the response says otherwise',
        default: '0s',
        args: [arg.duration('time')],
      },
      { name: 'max_size', doc: 'Largest body stored; a larger one streams through uncached', default: '8MB', args: [arg.size('size')] },
      {
        name: 'lock',
        doc: 'One request per key goes to the handler while the others wait for its answer, at most TIMEOUT, then go themselves (as proxy_cache_lock); across the workers with store disk, across instances with store redis',
        args: [arg.duration('timeout', { optional: true, default: '5s' })],
      },
      {
        name: 'store',
        doc: 'Where entries live: memory (per worker, LRU; the default), disk DIR (shared by the workers of a machine, kept across restarts): store disk ./cache { max_size 1GB }, or redis [DIR] (the global store, shared by every instance; bodies past max_entry go to the disk store DIR, else pass uncached)',
        args: [arg.enum('kind', { values: ['memory', 'disk', 'redis'] }), arg.path('dir', { optional: true })],
        options: [
          {
            name: 'max_size',
            doc: 'Size of the store, bodies and heads (default 64MB in memory, 1GB on disk); least recently used entries go first',
            args: [arg.size('size')],
          },
          { name: 'max_entry', doc: 'With store redis: largest body kept in Redis', default: '1MB', args: [arg.size('size')] },
        ],
      },
      { name: 'header', doc: 'Add X-Cache: HIT|MISS|EXPIRED|STALE|UPDATING|REVALIDATED|BYPASS to responses (default off)', args: [arg.bool('on')] },
      {
        name: 'purge_from',
        doc: 'Addresses (IP or CIDR) allowed to send PURGE: PURGE /path removes its entries, PURGE /prefix* every entry whose key starts with the prefix',
        args: [arg.string('cidr', { variadic: true })],
      },
    ],
  },
});

/** CacheConfig is a checked `cache`. */
export type CacheConfig = ConfigOf<typeof cache>;
