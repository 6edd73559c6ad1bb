import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Location } from 'vscode-languageserver/node';
import type { Span } from '../dsl/ast.js';
import { expandGlob, hasGlob } from '../dsl/glob.js';
import { resolvePluginSpec } from '../core/plugin-loader.js';
import { rangeOf } from './diagnostics.js';
import { offsetAt, placeAt } from './place.js';

const START = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

const fileLocation = (file: string): Location => ({ uri: pathToFileURL(file).href, range: START });

/**
 * definitionAt follows the argument under the cursor: an `include` to the files it names, an
 * `import` to its snippet, a `plugin` to the module it loads. `file` is the document's path.
 */
export function definitionAt(text: string, file: string, line: number, character: number, snippets: ReadonlyMap<string, Span>): Location[] {
  const offset = offsetAt(text, line, character);
  const place = placeAt(text, offset + 1);
  const t = place.token;
  if (!t || t.startOffset > offset || place.before.length !== 1) return [];
  const value = t.image.startsWith('"') ? t.image.slice(1, -1) : t.image;
  switch (place.before[0].image) {
    case 'include': {
      const files = hasGlob(value) ? expandGlob(value, dirname(file)) : [resolve(dirname(file), value)];
      return files.filter((f) => existsSync(f)).map(fileLocation);
    }
    case 'import': {
      const at = snippets.get(value);
      return at ? [{ uri: pathToFileURL(at.file).href, range: rangeOf(at) }] : [];
    }
    case 'plugin':
      try {
        return [fileLocation(resolvePluginSpec(value, file))];
      } catch {
        return [];
      }
    default:
      return [];
  }
}
