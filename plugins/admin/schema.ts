import { arg, directive, type ConfigOf } from '../../core/index.js';

/** admin serves the admin API and the live dashboard from the master: `admin 127.0.0.1:2019 { token ${ADMIN_TOKEN} }`. */
export const admin = directive({
  name: 'admin',
  kind: 'global',
  unique: true,
  doc:
    'Serve the admin API (/status, /metrics, /reload, /config, /upstreams, /routes) and a live dashboard at /, from the master: ' +
    'admin 127.0.0.1:2019 or admin unix:/run/gatekit-admin.sock; any other address needs a token',
  schema: {
    args: [arg.address('address')],
    options: [
      {
        name: 'token',
        doc: 'Bearer token every request must carry (Authorization: Bearer TOKEN); required off loopback. Use ${ENV} to keep it out of the file',
        args: [arg.string('token')],
      },
      {
        name: 'write_config',
        doc: 'POST /config also rewrites the config file on disk once the new text is served (off: the file stays as you wrote it)',
        default: 'off',
        args: [arg.bool('write')],
      },
    ],
  },
});

/** AdminConfig is a checked `admin`. */
export type AdminConfig = ConfigOf<typeof admin>;
