import { arg, directive, type ConfigOf } from '../../core/index.js';

/** respond answers with a fixed status and body: `respond [STATUS] [BODY]`. */
export const respond = directive({
  name: 'respond',
  kind: 'handler',
  doc: 'Answer with a status and a body (request variables allowed): respond [STATUS] [BODY]',
  schema: {
    args: [arg.status('status', { optional: true, default: '200', min: 200 }), arg.template('body', { optional: true, default: '' })],
    options: [{ name: 'content_type', doc: 'Content-Type of the body', default: 'text/plain; charset=utf-8', args: [arg.string('type')] }],
  },
});

/** RespondConfig is a checked `respond`. */
export type RespondConfig = ConfigOf<typeof respond>;
