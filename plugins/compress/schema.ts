import { arg, directive, type ConfigOf } from '../../core/index.js';

/** compress encodes responses on the fly: `compress { br; gzip; level 5; min_size 1KB }`. */
export const compress = directive({
  name: 'compress',
  kind: 'middleware',
  doc: 'Compress responses the client accepts: compress { gzip; br; deflate; level N; min_size SIZE; types MIME... }; encodings in order of preference (default gzip)',
  schema: {
    options: [
      { name: 'gzip', doc: 'Offer gzip (its place among gzip, br and deflate sets the preference)' },
      { name: 'br', doc: 'Offer Brotli' },
      { name: 'deflate', doc: 'Offer deflate (zlib)' },
      {
        name: 'level',
        doc: 'Compression level: 1 (fast) to 9 for gzip and deflate, up to 11 for br (default 6 for gzip and deflate, 4 for br)',
        args: [arg.int('level', { min: 1, max: 11 })],
      },
      { name: 'min_size', doc: 'Leave bodies smaller than this alone, when their length is known', default: '512B', args: [arg.size('size')] },
      {
        name: 'types',
        doc: 'Media types to compress (type/* allowed); default: text/*, JSON, JavaScript, XML, SVG, wasm and similar',
        args: [arg.string('type', { variadic: true })],
      },
    ],
  },
});

/** CompressConfig is a checked `compress`. */
export type CompressConfig = ConfigOf<typeof compress>;
