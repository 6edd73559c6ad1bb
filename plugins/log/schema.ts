import { arg, directive, type ConfigOf } from '../../core/index.js';

/** log writes one access-log line per request: `log { format combined; to ./logs/access.log }`. */
export const log = directive({
  name: 'log',
  kind: 'middleware',
  doc: 'Write an access-log line per request: log { format common|combined|json|"TEMPLATE"; to stdout|stderr|FILE; trust_request_id on }',
  schema: {
    options: [
      {
        name: 'format',
        doc: 'common, combined, json, or a template of request variables: "$remote $status $duration"',
        default: 'combined',
        args: [arg.template('format')],
      },
      {
        name: 'to',
        doc: 'stdout, stderr, or a file (appended to; reopened on USR1)',
        default: 'stdout',
        args: [arg.path('target', { also: ['stdout', 'stderr'] })],
      },
      {
        name: 'trust_request_id',
        doc: "Take $request_id from the client's X-Request-ID header when it is a sane id",
        default: 'off',
        args: [arg.bool('trust')],
      },
    ],
  },
});

/** LogConfig is a checked `log`. */
export type LogConfig = ConfigOf<typeof log>;
