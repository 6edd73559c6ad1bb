import { arg, directive, type ConfigOf } from '../../core/index.js';

/** ACME_ONLY are the options that belong to `tls acme` (and `tls auto`) only. */
export const ACME_ONLY = ['email', 'ca', 'ca_root', 'challenge', 'renew_before'] as const;

/**
 * tls is `tls [self_signed|acme|auto] { cert FILE; key FILE; min_version 1.2|1.3; hsts DURATION [include_subdomains] [preload];
 * ocsp_stapling on|off; email ADDR; ca URL; ca_root FILE; challenge http-01|tls-alpn-01; storage DIR|redis [DIR]; renew_before DURATION; retry DURATION }`.
 */
export const tls = directive({
  name: 'tls',
  kind: 'certificate',
  unique: true,
  doc:
    "The server's certificate for its 'listen ... tls' addresses: tls { cert FILE; key FILE }; tls acme { email ADDR } (or tls auto) " +
    "to obtain and renew one from an ACME CA (Let's Encrypt by default) for the server's names; or tls self_signed for development",
  schema: {
    args: [arg.enum('mode', { values: ['self_signed', 'acme', 'auto'], optional: true })],
    options: [
      { name: 'cert', doc: 'PEM certificate file (the chain may follow the leaf)', args: [arg.path('file')] },
      { name: 'key', doc: 'PEM private key file, unencrypted', args: [arg.path('file')] },
      {
        name: 'min_version',
        doc: 'Oldest TLS version accepted',
        default: '1.2',
        args: [arg.enum('version', { values: ['1.2', '1.3', 'TLSv1.2', 'TLSv1.3'] })],
      },
      {
        name: 'hsts',
        doc: 'Send Strict-Transport-Security with this max-age: hsts 365d [include_subdomains] [preload]',
        args: [
          arg.duration('max_age', { max: 315_360_000_000 }) /* 3650d: a max-age, not a timer */,
          arg.enum('flags', { values: ['include_subdomains', 'preload'], optional: true, variadic: true }),
        ],
      },
      { name: 'email', doc: 'acme: the contact address of the ACME account (the CA mails expiry warnings there)', args: [arg.string('address')] },
      {
        name: 'ca',
        doc: "acme: the CA's directory URL, or letsencrypt (the default) or letsencrypt_staging",
        args: [arg.url('url', { schemes: ['https'], also: ['letsencrypt', 'letsencrypt_staging'] })],
      },
      { name: 'ca_root', doc: "acme: a PEM root certificate to trust for the CA's own HTTPS (a private or test CA)", args: [arg.path('file')] },
      {
        name: 'challenge',
        doc: 'acme: how the CA checks control of the names: http-01 (the default; on a plain-HTTP listener) or tls-alpn-01 (on the TLS listener)',
        args: [arg.enum('type', { values: ['http-01', 'tls-alpn-01'] })],
      },
      {
        name: 'ocsp_stapling',
        doc: 'Staple the OCSP response of a certificate that names a responder: fetched by the master, refreshed halfway to its nextUpdate (default on)',
        args: [arg.bool('on')],
      },
      {
        name: 'storage',
        doc:
          'The folder for ACME keys, certificates and locks, and for OCSP staples (default $XDG_DATA_HOME/gatekit/acme or ~/.local/share/gatekit/acme); ' +
          'acme: storage redis [DIR] shares them in the global store, for every instance, keeping a copy in DIR for when Redis is down',
        args: [arg.path('dir', { also: ['redis'] }), arg.path('copy', { optional: true })],
      },
      {
        name: 'renew_before',
        doc: 'acme: renew this long before the certificate expires (default 30d)',
        args: [arg.duration('window', { max: 315_360_000_000 })],
      },
      {
        name: 'retry',
        doc: 'The first wait after a failed ACME order or OCSP fetch; each failure doubles it, up to 1d (OCSP: 1h) (default 1m)',
        args: [arg.duration('wait')],
      },
    ],
  },
});

/** TlsConfig is a checked `tls`. */
export type TlsConfig = ConfigOf<typeof tls>;
