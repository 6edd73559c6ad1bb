import { arg, directive, type ConfigOf } from '../../core/index.js';

/** tls is `tls [self_signed] { cert FILE; key FILE; min_version 1.2|1.3; hsts DURATION [include_subdomains] [preload] }`. */
export const tls = directive({
  name: 'tls', kind: 'certificate', unique: true,
  doc: "The server's certificate for its 'listen ... tls' addresses: tls { cert FILE; key FILE }, or tls self_signed for development",
  schema: {
    args: [arg.enum('mode', { values: ['self_signed'], optional: true })],
    options: [
      { name: 'cert', doc: 'PEM certificate file (the chain may follow the leaf)', args: [arg.path('file')] },
      { name: 'key', doc: 'PEM private key file, unencrypted', args: [arg.path('file')] },
      { name: 'min_version', doc: 'Oldest TLS version accepted', default: '1.2', args: [arg.enum('version', { values: ['1.2', '1.3', 'TLSv1.2', 'TLSv1.3'] })] },
      { name: 'hsts', doc: 'Send Strict-Transport-Security with this max-age: hsts 365d [include_subdomains] [preload]',
        args: [arg.duration('max_age', { max: 315_360_000_000 }) /* 3650d: a max-age, not a timer */, arg.enum('flags', { values: ['include_subdomains', 'preload'], optional: true, variadic: true })] },
    ],
  },
});

/** TlsConfig is a checked `tls`. */
export type TlsConfig = ConfigOf<typeof tls>;
