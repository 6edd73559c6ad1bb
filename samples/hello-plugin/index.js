// A third-party gatekit plugin in plain JavaScript: no build step, no decorators.
// It names the services it wants in `static inject` (the tokens are Symbol.for keys, the
// same symbols `import { LOGGER } from 'gatekit-server'` gives a TypeScript plugin).

const LOGGER = Symbol.for('gatekit.logger');

/** The schema is plain data: the kernel checks `hello` against it before the plugin sees it. */
const hello = {
  name: 'hello',
  kind: 'handler',
  doc: 'Greet the visitor: hello [NAME] { greeting TEXT; shout on|off }',
  schema: {
    args: [{ name: 'name', type: 'template', optional: true, default: 'world' }],
    options: [
      { name: 'greeting', doc: 'The word before the name (default Hello)', args: [{ name: 'text', type: 'string' }] },
      { name: 'shout', doc: 'Upper-case the whole greeting', args: [{ name: 'on', type: 'bool' }] },
    ],
  },
};

class HelloUnit {
  constructor(config, log) {
    this.config = config;
    this.log = log;
  }

  validate() {
    // Cross-field rules a schema cannot say go here; they run at `gatekit check` too.
    if (this.config.greeting === '') {
      return [{ code: 'HELLO_EMPTY', severity: 'error', message: "empty 'greeting'", span: this.config.at, help: 'give a word, e.g. greeting Hi' }];
    }
    return [];
  }

  async handle(ctx) {
    let text = `${this.config.greeting ?? 'Hello'}, ${ctx.render(this.config.name)}!`;
    if (this.config.shout) text = text.toUpperCase();
    this.log.debug('greeted', { request_id: ctx.requestId });
    await ctx.send(200, `${text}\n`, { 'content-type': 'text/plain; charset=utf-8' });
  }
}

export default class HelloPlugin {
  static inject = [LOGGER];

  constructor(log) {
    this.name = 'hello';
    this.directives = [hello];
    this.log = log.child({ plugin: 'hello' });
  }

  create(_directive, config, at) {
    return new HelloUnit({ ...config, at }, this.log);
  }
}
