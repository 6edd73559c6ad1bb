import type { Span } from '../dsl/ast.js';
import type { Diagnostic } from '../dsl/diagnostics.js';
import type { Sources } from '../dsl/expand.js';
import { parseText } from '../dsl/to-ast.js';

/** snippetsIn finds every top-level `snippet NAME` in the files a config read, with the span of its name. */
export function snippetsIn(sources: Sources): Map<string, Span> {
  const found = new Map<string, Span>();
  for (const file of sources.files()) {
    const scratch: Diagnostic[] = []; // already reported by the check itself
    for (const d of parseText(sources.get(file)!, file, scratch).directives) {
      const name = d.args[0];
      if (d.name === 'snippet' && name && !found.has(name.value)) found.set(name.value, name.span);
    }
  }
  return found;
}
