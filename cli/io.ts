import { renderDiagnostic, type Diagnostic } from '../dsl/diagnostics.js';
import type { Sources } from '../dsl/expand.js';

/** Io is where commands write: stdout for results, stderr for diagnostics and logs. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** processIo writes to the process's own streams. */
export const processIo: Io = {
  out: (t) => process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
  err: (t) => process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
};

/** EXIT names the exit codes of the gatekit command. */
export const EXIT = { ok: 0, config: 1, usage: 2, runtime: 3 } as const;

/** printDiagnostics writes each diagnostic with its quoted line, then a count; returns the error count. */
export function printDiagnostics(io: Io, diags: readonly Diagnostic[], sources: Sources): number {
  for (const d of diags) io.err(`${renderDiagnostic(d, (f) => sources.get(f))}\n`);
  const errors = diags.filter((d) => d.severity === 'error').length;
  const warnings = diags.length - errors;
  if (diags.length) io.err(`${errors} error${errors === 1 ? '' : 's'}${warnings ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}`);
  return errors;
}
