import type { DependencyContainer } from 'tsyringe';
import { resolvePlugins, schemaContainer } from '../core/container.js';
import { loadConfig } from '../core/load.js';
import type { CertificateReport, MasterDirective } from '../core/plugin.js';
import { allUnits, placeOf } from '../core/units.js';
import { EXIT, printDiagnostics, type Io } from './io.js';

/** certsCommand prints every certificate a config has gatekit obtain (`tls acme`): names, issuer, expiry, next renewal, last error. */
export async function certsCommand(file: string, root: DependencyContainer, io: Io): Promise<number> {
  const loaded = await loadConfig(file, { root });
  if (!loaded.config) {
    printDiagnostics(io, loaded.diagnostics, loaded.sources);
    return EXIT.config;
  }
  const config = loaded.config;
  const byPlugin = new Map<string, MasterDirective[]>();
  for (const u of allUnits(config)) {
    byPlugin.set(u.plugin.name, [...(byPlugin.get(u.plugin.name) ?? []), { directive: u.directive, config: u.config, at: u.span, place: placeOf(u, config) }]);
  }
  const reports: CertificateReport[] = [];
  for (const p of resolvePlugins(schemaContainer(loaded.scope))) {
    const ds = byPlugin.get(p.name);
    if (p.certificates && ds) reports.push(...p.certificates(ds));
  }
  if (reports.length === 0) {
    io.out(`${file}: no managed certificates (tls acme)`);
    return EXIT.ok;
  }
  for (const r of reports) io.out(reportText(r));
  return EXIT.ok;
}

function reportText(r: CertificateReport): string {
  const when = (ms: number | undefined): string => (ms === undefined ? '-' : new Date(ms).toISOString());
  return [
    r.names.join(' '),
    `    issuer        ${r.issuer ?? '- (none yet: a temporary self-signed certificate serves)'}`,
    `    expires       ${when(r.expires)}${r.expires !== undefined && r.expires < Date.now() ? ' (expired)' : ''}`,
    `    next renewal  ${when(r.nextRenewal)}`,
    `    last error    ${r.lastError ?? '-'}`,
    `    stored in     ${r.where}`,
  ].join('\n');
}
