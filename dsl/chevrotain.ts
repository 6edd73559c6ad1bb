import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

// chevrotain's package entry loads ~300 ms of separate lodash-es modules; the single-file
// bundle it ships beside it (lib/chevrotain.mjs, same version) loads in ~70 ms, which is
// most of gatekit's startup. Its "exports" map hides the bundle, so find it from the entry.
const entry = createRequire(import.meta.url).resolve('chevrotain');
const bundle = (await import(new URL('../chevrotain.mjs', pathToFileURL(entry)).href)) as typeof import('chevrotain');

/** The chevrotain values the grammar uses (types still come from 'chevrotain'). */
export const { createToken, CstParser, generateCstDts, Lexer } = bundle;
