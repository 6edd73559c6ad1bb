#!/usr/bin/env node
// bin/: the `gatekit` command, thin: it parses argv and calls cli/ (or, in a worker process,
// the kernel's worker loop).
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { container } from 'tsyringe';
import { certsCommand } from '../cli/certs.js';
import { checkCommand } from '../cli/check.js';
import { fmtCommand } from '../cli/fmt.js';
import { EXIT, processIo as io } from '../cli/io.js';
import { pluginsCommand } from '../cli/plugins.js';
import { routesCommand } from '../cli/routes.js';
import { runCommand } from '../cli/run.js';
import { signalCommand } from '../cli/signal.js';
import { statusCommand } from '../cli/status.js';
import { guardStdio } from '../core/log-target.js';
import { ROLE_ENV } from '../core/process/protocol.js';
import { runWorker } from '../core/process/worker.js';
import { didYouMean } from '../dsl/diagnostics.js';
import { parseDuration } from '../dsl/values.js';
import { registerBuiltins } from '../plugins/index.js';

const PKG_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const QUICKSTART = join(PKG_DIR, 'samples', 'quickstart.gate');

const HELP = `gatekit — one program for the web stack between a browser and an application

usage:
  gatekit run [FILE]              serve FILE (default ./gatekit.gate; with none, the quickstart sample)
  gatekit check FILE...           validate; print every diagnostic
  gatekit fmt [--write|--check] FILE...
                                  print in canonical layout (--write: rewrite the files;
                                  --check: list files that are not formatted)
  gatekit plugins [NAME] [--config FILE]
                                  list plugins and the directives they own, with docs and
                                  defaults (--config: also the plugins FILE loads)
  gatekit routes FILE [PATH...] [--host HOST]
                                  the routing table, or which route serves each PATH
  gatekit reload [--wait=60s] [FILE]
                                  re-read the config in the running server; wait for its
                                  verdict (exit 1 with the diagnostics when it is refused)
  gatekit stop [FILE]             send TERM (graceful stop) to the running server
  gatekit test FILE...            run the expectations of FILE.test (or FILE, a .test file) against
                                  its config, in-process: routes, hosts, redirects, answers
  gatekit new plugin NAME [--ts]  write gatekit-plugin-NAME: a plugin package (JavaScript, or
                                  TypeScript), a .gate file loading it, and its mocha test
  gatekit lsp [--stdio]           the language server for editors (LSP over stdin and stdout)
  gatekit certs [FILE]            the certificates tls acme obtains: names, issuer, expiry,
                                  next renewal, last error
  gatekit status [FILE]           the running server's workers, upstreams and pools, from
                                  its admin API (admin in global)
  gatekit top [FILE]              the same, refreshed every second, with requests/s
  gatekit --version | --help

exit codes:
  0  success
  1  the config has errors (run, check, reload), or a file is not formatted (fmt --check)
  2  usage error (unknown command or flag)
  3  runtime failure (cannot listen, a plugin failed to start, no running server to signal,
     no reload verdict in time)

signals to a running server:
  TERM, INT  graceful stop    QUIT  fast stop    HUP  reload    USR1  reopen log files
`;

function version(): string {
  return (JSON.parse(readFileSync(join(PKG_DIR, 'package.json'), 'utf8')) as { version: string }).version;
}

const COMMANDS = [
  'run',
  'check',
  'fmt',
  'plugins',
  'routes',
  'reload',
  'stop',
  'certs',
  'status',
  'top',
  'lsp',
  'test',
  'new',
  'help',
  'version',
  '--help',
  '--version',
];

function usageError(msg: string): number {
  io.err(`gatekit: ${msg}\nrun 'gatekit --help' for usage`);
  return EXIT.usage;
}

/** unknown names a word gatekit does not know, with the closest one it does: `chek` → `check`. */
function unknown(what: string, word: string, known: readonly string[], where = ''): number {
  const hint = didYouMean(word, known);
  return usageError(`unknown ${what} '${word}'${where}${hint ? `; ${hint}` : ''}`);
}

/** takeOption removes `--NAME VALUE` or `--NAME=VALUE` from argv; value undefined when absent, '' when its value is missing. */
function takeOption(argv: readonly string[], name: string): { value?: string; rest: string[] } {
  const at = argv.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (at < 0) return { rest: [...argv] };
  const inline = argv[at].startsWith(`${name}=`);
  const value = inline ? argv[at].slice(name.length + 1) : (argv[at + 1] ?? '');
  return { value, rest: argv.filter((_, i) => i !== at && (inline || i !== at + 1)) };
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const flags = rest.filter((a) => a.startsWith('--'));
  const args = rest.filter((a) => !a.startsWith('--'));
  const root = container.createChildContainer();
  registerBuiltins(root);
  switch (cmd) {
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      io.out(HELP);
      return cmd === undefined ? EXIT.usage : EXIT.ok;
    case '--version':
    case '-v':
    case 'version':
      io.out(`gatekit ${version()}`);
      return EXIT.ok;
    case 'run':
      if (args.length > 1 || flags.length) return usageError('run takes at most one FILE');
      return runCommand({ ...(args[0] ? { file: args[0] } : {}), quickstart: QUICKSTART, root, io });
    case 'check':
      if (!args.length) return usageError('check needs at least one FILE');
      return checkCommand(args, root, io);
    case 'fmt': {
      const bad = flags.find((f) => f !== '--write' && f !== '--check');
      if (bad) return unknown('flag', bad, ['--write', '--check'], ' for fmt');
      if (!args.length) return usageError('fmt needs at least one FILE');
      return fmtCommand(args, flags.includes('--write') ? 'write' : flags.includes('--check') ? 'check' : 'print', io);
    }
    case 'plugins': {
      const { value: config, rest: words } = takeOption(rest, '--config');
      if (config === '') return usageError('--config needs a FILE');
      const bad = words.find((w) => w.startsWith('--'));
      if (bad) return unknown('flag', bad, ['--config'], ' for plugins');
      if (words.length > 1) return usageError('plugins takes at most one NAME');
      return pluginsCommand(words[0], root, io, config);
    }
    case 'routes': {
      const hostAt = rest.indexOf('--host');
      const host = hostAt >= 0 ? rest[hostAt + 1] : undefined;
      const positional = rest.filter((a, i) => (!a.startsWith('--') && i !== hostAt + 1) || (hostAt < 0 && !a.startsWith('--')));
      if (!positional.length) return usageError('routes needs a FILE');
      return routesCommand(positional[0], positional.slice(1), host, root, io);
    }
    case 'reload':
    case 'stop': {
      const waitFlag = cmd === 'reload' ? flags.find((f) => f.startsWith('--wait=')) : undefined;
      const bad = flags.find((f) => f !== waitFlag);
      if (bad) return unknown('flag', bad.replace(/=.*/, ''), cmd === 'reload' ? ['--wait'] : [], ` for ${cmd}`);
      if (args.length > 1) return usageError(`${cmd} takes at most one FILE`);
      const wait = waitFlag === undefined ? undefined : parseDuration(waitFlag.slice('--wait='.length));
      if (waitFlag !== undefined && wait === undefined) return usageError(`invalid duration in '${waitFlag}': expected one like 30s`);
      return signalCommand(cmd, args[0], QUICKSTART, root, io, wait);
    }
    case 'test':
      if (!args.length || flags.length) return usageError('test needs at least one FILE, and takes no flags');
      return (await import('../cli/test.js')).testCommand(args, root, io); // imported on use: workers start without it
    case 'new': {
      const bad = flags.find((f) => f !== '--ts');
      if (bad) return unknown('flag', bad, ['--ts'], ' for new');
      if (args[0] !== 'plugin' || args.length !== 2) return usageError('usage: gatekit new plugin NAME [--ts]');
      return (await import('../cli/new.js')).newPluginCommand(args[1], flags.includes('--ts'), version(), io);
    }
    case 'lsp': {
      const bad = flags.find((f) => f !== '--stdio'); // editors' clients pass --stdio; stdio is the only transport
      if (bad) return unknown('flag', bad, ['--stdio'], ' for lsp');
      return (await import('../cli/lsp.js')).lspCommand(root); // the protocol library loads only for editors
    }
    case 'certs':
      if (args.length > 1 || flags.length) return usageError('certs takes at most one FILE');
      return certsCommand(args[0] ?? 'gatekit.gate', root, io);
    case 'status':
    case 'top':
      if (args.length > 1 || flags.length) return usageError(`${cmd} takes at most one FILE`);
      return statusCommand(cmd, args[0], root, io);
    default:
      return unknown('command', cmd, COMMANDS);
  }
}

guardStdio(); // a closed stdout or stderr (gatekit run | head) drops output; it never ends a server

if (process.env[ROLE_ENV] === 'worker') {
  const root = container.createChildContainer();
  registerBuiltins(root);
  runWorker(root);
} else
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      io.err(`gatekit: internal error: ${(e as Error).stack ?? String(e)}`);
      process.exitCode = EXIT.runtime;
    },
  );
