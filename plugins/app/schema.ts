import { arg, directive, type ConfigOf } from '../../core/index.js';

/** app is `app MODULE { ... }`: a Node application module loaded once per worker. */
export const app = directive({
  name: 'app',
  kind: 'handler',
  doc: 'Serve a Node application module, loaded once per worker: it exports a request listener (req, res) such as an Express app, or a fetch handler (Request) => Response, and optionally upgrade(req, socket, head)',
  schema: {
    args: [arg.path('module')],
    options: [
      { name: 'export', doc: 'The export to serve (default: the default export, else one named handler, app or fetch)', args: [arg.string('name')] },
      {
        name: 'style',
        doc: 'How to call it: listener (req, res), fetch (Request) => Response, or auto (a function of 2+ parameters is a listener)',
        default: 'auto',
        args: [arg.enum('style', { values: ['auto', 'listener', 'fetch'] })],
      },
      {
        name: 'strip_mount',
        doc: "Give the application the path inside the route's mount point (as Express sub-apps see it) instead of the full path",
        default: 'off',
        args: [arg.bool('enabled')],
      },
    ],
  },
});

/** AppConfig is a checked `app`. */
export type AppConfig = ConfigOf<typeof app>;
