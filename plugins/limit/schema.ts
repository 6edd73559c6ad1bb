import { arg, directive, type ConfigOf } from '../../core/index.js';

/** limit bounds what clients may ask: `limit { body 10MB; rate 10/s burst 20; connections 50 }`. */
export const limit = directive({
  name: 'limit',
  kind: 'middleware',
  doc: 'Bound requests: limit { body SIZE; body_timeout D; rate N/s [burst M] [per $remote]; connections N [per $remote] }; with workers, the master keeps the rates and counts for all of them; store shared keeps them in the global store, for every instance',
  schema: {
    block: 'required',
    options: [
      { name: 'body', doc: 'Largest request body; more gets 413, from Content-Length or while a chunked body streams', args: [arg.size('size')] },
      {
        name: 'body_timeout',
        doc: 'Longest wait for the next piece of a request body a handler is reading; then 408 and the connection closes',
        args: [arg.duration('timeout')],
      },
      {
        name: 'rate',
        doc: 'Token bucket per key (default $remote): N requests per s, m or h, bursts of M; over it 429 with Retry-After',
        repeatable: true,
        args: [
          arg.string('rate'),
          arg.enum('burst_word', { values: ['burst'], optional: true }),
          arg.int('burst', { min: 1, optional: true, default: '1' }),
          arg.enum('per_word', { values: ['per'], optional: true }),
          arg.template('key', { optional: true }),
        ],
      },
      {
        name: 'connections',
        doc: 'Requests in flight at once per key (default $remote), upgraded connections included; over it 429',
        args: [arg.int('count', { min: 1 }), arg.enum('per_word', { values: ['per'], optional: true }), arg.template('key', { optional: true })],
      },
      {
        name: 'store',
        doc: 'Where rates and counts live: local (this machine, the default) or shared (the global store, across every instance using it; GCRA rates, leased counts); a NAME shares the counts of blocks that differ between configs',
        args: [arg.enum('mode', { values: ['local', 'shared'] }), arg.string('zone', { optional: true })],
      },
      {
        name: 'on_store_error',
        doc: 'What a shared limit does when the store is down or slower than its timeout: allow (the default; one log line per outage) or deny (503 with Retry-After)',
        args: [arg.enum('policy', { values: ['allow', 'deny'] })],
      },
    ],
  },
});

/** LimitConfig is a checked `limit`. */
export type LimitConfig = ConfigOf<typeof limit>;
