import type { TemplateLike } from './schema.js';

type Part = string | { readonly name: string };

/** VAR_RE finds `$name`, `$1`..`$9` and the `$$` escape. */
const VAR_RE = /\$(\$|[1-9]|[A-Za-z_][A-Za-z0-9_]*)/g;

/** TemplateRef is one variable reference in a template, with its offset in the source. */
export interface TemplateRef {
  readonly name: string;
  readonly offset: number;
}

/**
 * Template is a string with request variables (`$host$uri`), split once at load time so
 * rendering per request is a join. `$$` is a literal dollar; `$` before anything else stays.
 */
export class Template implements TemplateLike {
  readonly isStatic: boolean;
  readonly refs: readonly TemplateRef[];
  private readonly parts: readonly Part[];

  constructor(readonly source: string) {
    const parts: Part[] = [];
    const refs: TemplateRef[] = [];
    let last = 0;
    let lit = '';
    for (const m of source.matchAll(VAR_RE)) {
      lit += source.slice(last, m.index);
      last = m.index! + m[0].length;
      if (m[1] === '$') {
        lit += '$';
        continue;
      }
      if (lit) parts.push(lit);
      lit = '';
      parts.push({ name: m[1] });
      refs.push({ name: m[1], offset: m.index! });
    }
    lit += source.slice(last);
    if (lit || parts.length === 0) parts.push(lit);
    this.parts = parts;
    this.refs = refs;
    this.isStatic = refs.length === 0;
  }

  /**
   * render substitutes each variable through `lookup`, which also gets the text rendered
   * before it (where in a URL it lands, for one); an unknown or unset one renders empty.
   */
  render(lookup: (name: string, before: string) => string | undefined): string {
    if (this.isStatic) return this.parts[0] as string;
    let out = '';
    for (const p of this.parts) out += typeof p === 'string' ? p : (lookup(p.name, out) ?? '');
    return out;
  }
}
