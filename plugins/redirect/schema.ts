import { arg, directive, type ConfigOf } from '../../core/index.js';

/** redirect is `redirect [STATUS] TARGET` or `redirect [STATUS] https [PORT]`. */
export const redirect = directive({
  name: 'redirect',
  kind: 'handler',
  doc: 'Answer with a redirect: redirect [301|302|303|307|308] TARGET (request variables allowed, each encoded for the part of the URL it lands in: in /go?u=$arg_u a u of a&b=c stays one value), or redirect https [PORT] for https://$host[:PORT]$uri',
  schema: {
    args: [
      arg.status('status', { optional: true, default: '301', values: ['301', '302', '303', '307', '308'] }),
      arg.template('target'),
      arg.int('port', { optional: true, min: 1, max: 65535 }),
    ],
  },
});

/** RedirectConfig is a checked `redirect`. */
export type RedirectConfig = ConfigOf<typeof redirect>;
