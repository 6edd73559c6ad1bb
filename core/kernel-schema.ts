import { arg, directive, type ConfigOf, type DirectiveSpec } from '../dsl/schema.js';

// The structure directives the kernel owns. include, snippet and import are handled
// before checking (dsl/expand.ts) and never reach the schema table.

/** globalBlock is `global { ... }`: process and kernel settings. */
export const globalBlock = directive({
  name: 'global',
  kind: 'global',
  unique: true,
  doc: 'Process and kernel settings: global { workers auto; graceful_timeout 30s }',
  schema: { contains: 'global', block: 'required' },
});

/** pluginDirective is `plugin SPEC [{ ... }]`: load a third-party plugin. */
export const pluginDirective = directive({
  name: 'plugin',
  kind: 'global',
  doc: 'Load a plugin from a path or an npm package; its global settings may go in the block',
  schema: { args: [arg.string('spec')], contains: 'global' },
});

/** serverBlock is `server [HOSTNAME...] { ... }`: a virtual host. */
export const serverBlock = directive({
  name: 'server',
  kind: 'server',
  doc: 'A virtual host: server [HOSTNAME...] { listen ...; route ... }; no hostname = default server',
  schema: { args: [arg.string('hostname', { optional: true, variadic: true })], contains: 'server', block: 'required' },
});

/** listen is `listen ADDR [tls | h2c] [http2 on|off]`. */
export const listen = directive({
  name: 'listen',
  kind: 'server',
  doc: 'Accept connections on an address: 8080, 127.0.0.1:8080, [::1]:8080, unix:/path.sock; add tls for HTTPS (HTTP/2 and HTTP/1.1 by ALPN; `http2 off` for HTTP/1.1 only), h2c for cleartext HTTP/2 beside HTTP/1.1',
  schema: {
    // one list of words, read in config.ts, so that a wrong word is told what any place takes
    args: [arg.address('address'), arg.enum('options', { values: ['tls', 'h2c', 'http2', 'on', 'off'], optional: true, variadic: true })],
  },
});

/** http2 is `http2 on|off` in a server: whether its TLS addresses offer HTTP/2 by ALPN (on by default). */
export const http2 = directive({
  name: 'http2',
  kind: 'server',
  unique: true,
  doc: "Offer HTTP/2 by ALPN on this server's tls addresses (default on); a listen line's own http2 on|off wins",
  schema: { args: [arg.bool('enabled')] },
});

/** route is `route [= | ~] PATTERN { ... }`. */
export const route = directive({
  name: 'route',
  kind: 'server',
  doc: 'Match requests: route /prefix/, route = /exact, route ~ REGEX; exact > first regex > longest prefix',
  schema: { args: [arg.enum('op', { values: ['=', '~'], optional: true }), arg.string('pattern')], contains: 'route', block: 'required' },
});

/** globalSettings are the kernel's own settings inside `global`. */
export const globalSettings = [
  directive({
    name: 'workers',
    kind: 'global',
    unique: true,
    default: '0',
    doc: 'Worker processes: a number, auto (one per CPU), or 0 for a single process',
    schema: { args: [arg.int('count', { min: 0, max: 1024, also: ['auto'] })] },
  }),
  directive({
    name: 'graceful_timeout',
    kind: 'global',
    unique: true,
    default: '30s',
    doc: 'How long a stop or reload waits for requests in flight',
    schema: { args: [arg.duration('timeout')] },
  }),
  directive({
    name: 'pid',
    kind: 'global',
    unique: true,
    doc: 'Where the master writes its pid (default: beside the config file, site.gate -> site.pid); its state file goes beside it',
    schema: { args: [arg.path('file')] },
  }),
  directive({
    name: 'user',
    kind: 'global',
    unique: true,
    doc: 'Drop privileges to this user after opening listeners (when started as root)',
    schema: { args: [arg.string('name'), arg.string('group', { optional: true })] },
  }),
  directive({
    name: 'max_requests',
    kind: 'global',
    unique: true,
    default: '0',
    doc: 'Recycle a worker after this many requests (0 = never)',
    schema: { args: [arg.int('count', { min: 0 })] },
  }),
  directive({
    name: 'max_requests_jitter',
    kind: 'global',
    unique: true,
    default: '0',
    doc: 'Random extra requests added to max_requests per worker',
    schema: { args: [arg.int('count', { min: 0 })] },
  }),
  directive({
    name: 'worker_timeout',
    kind: 'global',
    unique: true,
    default: '30s',
    doc: 'Replace a worker whose event loop stops answering for this long (at least 1s, or 0s = never)',
    schema: { args: [arg.duration('timeout')] },
  }),
  directive({
    name: 'keepalive_timeout',
    kind: 'global',
    unique: true,
    default: '75s',
    doc: 'Close idle keep-alive client connections after this long (0s = no keep-alive)',
    schema: { args: [arg.duration('timeout')] },
  }),
  directive({
    name: 'send_timeout',
    kind: 'global',
    unique: true,
    default: '60s',
    doc: 'Close a connection (HTTP/1.1 or HTTP/2) whose client accepts no byte of a response for this long, between two writes, not for the whole response (as Nginx; 0s = never)',
    schema: { args: [arg.duration('timeout')] },
  }),
  directive({
    name: 'header_timeout',
    kind: 'global',
    unique: true,
    default: '60s',
    doc: 'Answer 408 to a client that takes longer than this to send its headers (request_timeout instead when that is shorter)',
    schema: { args: [arg.duration('timeout')] },
  }),
  directive({
    name: 'request_timeout',
    kind: 'global',
    unique: true,
    default: '5m',
    doc: 'Answer 408 to a client that takes longer than this to send its whole request (0s = off)',
    schema: { args: [arg.duration('timeout')] },
  }),
  directive({
    name: 'http2_max_concurrent_streams',
    kind: 'global',
    unique: true,
    default: '128',
    doc: 'Streams one HTTP/2 connection may have open at once (as Nginx); more are refused',
    schema: { args: [arg.int('count', { min: 1, max: 65535 })] },
  }),
  directive({
    name: 'http2_max_header_size',
    kind: 'global',
    unique: true,
    default: '32KB',
    doc: 'Largest header list an HTTP/2 request may carry, uncompressed; a larger one resets its stream',
    schema: { args: [arg.size('size')] },
  }),
  directive({
    name: 'store',
    kind: 'global',
    unique: true,
    doc: 'The shared store several instances keep state in (Redis): store redis://HOST:PORT/DB | rediss://... | unix:/PATH | redis-sentinel://H:P,H:P/MASTER { password; prefix; timeout }; features opt in (limit { store shared })',
    schema: {
      args: [arg.string('url')],
      options: [
        { name: 'password', doc: 'The password (AUTH); better ${REDIS_PASSWORD} than written in the file', args: [arg.string('password')] },
        { name: 'prefix', default: 'gatekit:', doc: 'Prefix of every key gatekit writes, so that sites can share one Redis', args: [arg.string('prefix')] },
        {
          name: 'timeout',
          default: '50ms',
          doc: 'Longest wait for any answer; past it, or while the store is down, each feature follows its own policy',
          args: [arg.duration('timeout')],
        },
        { name: 'ca', doc: 'With rediss://: the certificate authorities (PEM) to trust instead of the system ones (a private CA)', args: [arg.path('file')] },
      ],
    },
  }),
  directive({
    name: 'log_level',
    kind: 'global',
    unique: true,
    default: 'info',
    doc: 'Least important error-log level written: debug, info, warn or error',
    schema: { args: [arg.enum('level', { values: ['debug', 'info', 'warn', 'error'] })] },
  }),
  directive({
    name: 'error_log',
    kind: 'global',
    unique: true,
    default: 'stderr',
    doc: 'Where the error log goes: stderr, stdout or a file (reopened on USR1), and its least level; lines it cannot take are dropped and counted',
    schema: { args: [arg.string('target'), arg.enum('level', { values: ['debug', 'info', 'warn', 'error'], optional: true })] },
  }),
] as const satisfies readonly DirectiveSpec[];

/** ListenConfig is a checked `listen`. */
export type ListenConfig = ConfigOf<typeof listen>;
/** RouteArgs is a checked `route`. */
export type RouteArgs = ConfigOf<typeof route>;
