import { arg, directive, type ConfigOf } from '../../core/index.js';
import { bodyBufferingOptions } from '../../lib/index.js';

/** UPSTREAM_SCHEMES are the URL schemes an upstream may have (ws and wss are http and https; h2c and h2 keep HTTP/2 upstream). */
export const UPSTREAM_SCHEMES = ['http', 'https', 'ws', 'wss', 'h2c', 'h2', 'unix'] as const;

const upstreamUrl = <const N extends string>(name: N) => arg.url(name, { schemes: UPSTREAM_SCHEMES });

const headerOp = <const N extends string>(name: N, doc: string) =>
  ({
    name,
    doc,
    repeatable: true,
    args: [
      arg.enum('op', { values: ['set', 'add', 'remove'], optional: true, default: 'set' }),
      arg.string('header'),
      arg.template('value', { optional: true }),
    ],
  }) as const;

/** proxy is `proxy UPSTREAM... { ... }`: a reverse proxy (nginx's proxy_pass, Caddy's reverse_proxy). */
export const proxy = directive({
  name: 'proxy',
  kind: 'handler',
  doc:
    'Pass requests (and WebSocket upgrades) to upstream servers: proxy http://host:port https://... unix:/path.sock { balance; health_check; retries; ... }; ' +
    'h2c://host:port (cleartext) and h2://host:port (TLS) speak HTTP/2 to the upstream, trailers included, for gRPC services',
  schema: {
    args: [arg.url('upstreams', { schemes: UPSTREAM_SCHEMES, variadic: true, optional: true })],
    options: [
      {
        name: 'upstream',
        repeatable: true,
        doc: 'One more upstream, with options: upstream http://host:port { weight 3 }',
        args: [upstreamUrl('url')],
        options: [{ name: 'weight', doc: 'Share of traffic relative to the others', default: '1', args: [arg.int('weight', { min: 1, max: 1000 })] }],
      },
      {
        name: 'balance',
        doc: 'How an upstream is picked: round_robin, least_conn, ip_hash, random, first, or cookie NAME { secret S; max_age D } (sticky: a signed cookie names the upstream, the same on every instance with the same secret)',
        default: 'round_robin',
        args: [arg.enum('policy', { values: ['round_robin', 'least_conn', 'ip_hash', 'random', 'first', 'cookie'] }), arg.string('cookie', { optional: true })],
        options: [
          {
            name: 'secret',
            doc: "Key of the cookie's HMAC: give every instance the same one (${STICKY_SECRET}); without it, anyone who knows the upstreams can name one",
            args: [arg.string('secret')],
          },
          { name: 'max_age', doc: 'How long the browser keeps the cookie (default: until it closes)', args: [arg.duration('age')] },
        ],
      },
      {
        name: 'keepalive',
        doc: 'Idle connections kept open per upstream for reuse (0 closes each after its request); an h2c/h2 upstream shares one HTTP/2 connection between requests instead',
        default: '128',
        args: [arg.int('connections', { min: 0, max: 100000 })],
      },
      { name: 'keepalive_timeout', doc: 'How long an idle upstream connection (or HTTP/2 session) is kept', default: '30s', args: [arg.duration('timeout')] },
      {
        name: 'tls_insecure',
        doc: 'Accept any certificate from https upstreams (self-signed backends)',
        default: 'off',
        args: [arg.bool('enabled', { optional: true, default: 'on' })],
      },
      { name: 'preserve_host', doc: "Send the client's Host header upstream; off sends the upstream's host:port", default: 'on', args: [arg.bool('enabled')] },
      {
        name: 'rewrite_location',
        doc: "Rewrite Location and Refresh answers that name the upstream (http://host:port/x) to the address the client used, under the stripped prefix (as nginx's proxy_redirect default)",
        default: 'on',
        args: [arg.bool('enabled')],
      },
      headerOp(
        'header_up',
        "Change a request header sent upstream: header_up [set|add|remove] NAME [VALUE] (request variables allowed); Host may only be set, and the framing and connection headers (Content-Length, Transfer-Encoding, Connection...) are the proxy's own",
      ),
      headerOp(
        'header_down',
        'Change a response header sent to the client: header_down [set|add|remove] NAME [VALUE] ($upstream allowed); not the framing and connection headers',
      ),
      {
        name: 'strip_prefix',
        doc: "Remove PATH from the start of the upstream path; without PATH, the route's mount point",
        args: [arg.string('prefix', { optional: true, default: '' })],
      },
      {
        name: 'rewrite',
        doc: 'Set the upstream path (request variables allowed); the query is kept unless the result has one: rewrite /v2$path',
        args: [arg.template('uri')],
      },
      {
        name: 'retries',
        doc: 'Other upstreams tried after a failure to connect, or an idempotent request failed before any response byte (default: each upstream once)',
        args: [arg.int('count', { min: 0, max: 100 })],
      },
      { name: 'connect_timeout', doc: 'Time to open a connection to an upstream, TLS included', default: '5s', args: [arg.duration('timeout')] },
      {
        name: 'read_timeout',
        doc: 'Longest wait for the upstream between two reads: response start and body',
        default: '60s',
        args: [arg.duration('timeout')],
      },
      { name: 'send_timeout', doc: 'Longest wait for the upstream to accept more of the request body', default: '60s', args: [arg.duration('timeout')] },
      {
        name: 'ws_idle_timeout',
        doc: 'Close a proxied WebSocket (or other upgraded connection) idle this long (default: read_timeout)',
        args: [arg.duration('timeout')],
      },
      {
        name: 'health_check',
        doc: 'Active health check: health_check /healthz { interval 10s; timeout 5s; expect 200 }',
        args: [arg.string('path')],
        options: [
          { name: 'interval', doc: 'Time between checks of each upstream', default: '10s', args: [arg.duration('interval')] },
          { name: 'timeout', doc: 'Time a check may take', default: '5s', args: [arg.duration('timeout')] },
          { name: 'expect', doc: 'Statuses that pass (default any 2xx)', args: [arg.status('statuses', { variadic: true })] },
        ],
      },
      {
        name: 'max_fails',
        doc: 'Passive health: N failures within DURATION mark an upstream down for fail_timeout (default 1 within fail_timeout; 0 is off)',
        args: [
          arg.int('count', { min: 0, max: 10000 }),
          arg.enum('within', { values: ['within'], optional: true }),
          arg.duration('window', { optional: true }),
        ],
      },
      { name: 'fail_timeout', doc: 'How long passive health keeps a failing upstream down', default: '10s', args: [arg.duration('timeout')] },
      ...bodyBufferingOptions(
        "Read the whole request body before the request goes upstream, as Nginx's proxy_request_buffering (off: the body streams as it arrives, " +
          'as in Caddy and Traefik, since the upstream is a server that handles its own clients and proxy timeouts do not count waiting for the client; ' +
          "turn it on in front of servers whose workers a slow upload would tie up, such as Gunicorn's sync workers)",
        'off',
      ),
    ],
  },
});

/** ProxyConfig is a checked `proxy`. */
export type ProxyConfig = ConfigOf<typeof proxy>;
