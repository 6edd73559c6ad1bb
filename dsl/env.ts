import { spanAt, type Arg } from './ast.js';
import { error, type Diagnostic } from './diagnostics.js';
import { unescape } from './to-ast.js';

/** Env is the environment that `${NAME}` reads (process.env, or a fake in tests). */
export type Env = Readonly<Record<string, string | undefined>>;

const REF_RE = /\$\{([^}]*)(\}?)/g;

/** expandEnvArg substitutes `${NAME}` and `${NAME:-default}` in an argument, reporting unset names. */
export function expandEnvArg(a: Arg, env: Env, diags: Diagnostic[]): Arg {
  if (!a.raw.includes('${')) return a;
  const inner = a.quoted ? a.raw.slice(1, -1) : a.raw;
  const shift = a.quoted ? 1 : 0;
  const before = diags.length;
  const out = inner.replace(REF_RE, (all: string, body: string, close: string, at: number) => {
    const where = spanAt(a.span, at + shift, all.length);
    if (!close) {
      diags.push(error('GK_DSL_BAD_ENV', "unterminated '${' in environment reference", where, "close it with '}': ${NAME} or ${NAME:-default}"));
      return '';
    }
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(body);
    if (!m) {
      diags.push(
        error('GK_DSL_BAD_ENV', `invalid environment reference '${all}'`, where, 'write ${NAME} or ${NAME:-default}, NAME made of letters, digits and _'),
      );
      return '';
    }
    const value = env[m[1]];
    if (value !== undefined && value !== '') return value;
    if (m[2] !== undefined) return m[2];
    if (value === undefined) {
      diags.push(error('GK_DSL_ENV_UNSET', `environment variable '${m[1]}' is not set`, where, `set it, or give a default: \${${m[1]}:-VALUE}`));
    }
    return '';
  });
  return { ...a, value: a.quoted ? unescape(out) : out, ...(diags.length > before ? { unresolved: true } : {}) };
}
