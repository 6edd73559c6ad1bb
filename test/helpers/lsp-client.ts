import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  InitializeRequest,
  PublishDiagnosticsNotification,
  StreamMessageReader,
  StreamMessageWriter,
  type Diagnostic,
  type ProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { GATEKIT } from './paths.js';

/** LspSession is a `gatekit lsp` child process and a real LSP client connected to its stdio. */
export interface LspSession {
  readonly conn: ProtocolConnection;
  /** open sends didOpen for `file` with `text`; returns its URI. */
  open(file: string, text: string, version?: number): string;
  /** change replaces an open document's text. */
  change(uri: string, text: string, version: number): void;
  /** diagnostics resolves with the first diagnostics published for `uri` at `version` or later (rejects after `ms`). */
  diagnostics(uri: string, version?: number, ms?: number): Promise<Diagnostic[]>;
  /** stop shuts the server down as an editor does (shutdown, exit) and waits for it. */
  stop(): Promise<void>;
}

/** startLsp spawns `gatekit lsp --stdio` in `cwd` and initializes it. */
export async function startLsp(cwd: string): Promise<LspSession> {
  const child: ChildProcess = spawn(process.execPath, [GATEKIT, 'lsp', '--stdio'], { cwd, stdio: ['pipe', 'pipe', 'inherit'] });
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const published: { uri: string; version?: number; diagnostics: Diagnostic[] }[] = [];
  const waiting = new Set<() => void>();
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    published.push(p);
    for (const w of waiting) w();
  });
  conn.listen();
  const folder = pathToFileURL(cwd).href;
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- InitializeParams still requires rootUri; workspaceFolders says the same
    rootUri: null,
    capabilities: {},
    workspaceFolders: [{ uri: folder, name: 'test' }],
  });
  await conn.sendNotification('initialized', {});
  return {
    conn,
    open(file, text, version = 1) {
      const uri = pathToFileURL(file).href;
      void conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'gate', version, text } });
      return uri;
    },
    change(uri, text, version) {
      void conn.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ text }] });
    },
    diagnostics(uri, version = 0, ms = 8000) {
      return new Promise((resolve, reject) => {
        const look = (): void => {
          const hit = published.find((p) => p.uri === uri && (p.version ?? 0) >= version);
          if (!hit) return;
          waiting.delete(look);
          clearTimeout(timer);
          resolve(hit.diagnostics);
        };
        const timer = setTimeout(() => {
          waiting.delete(look);
          reject(new Error(`no diagnostics for ${uri} v${version} in ${ms} ms`));
        }, ms);
        waiting.add(look);
        look();
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      try {
        await conn.sendRequest('shutdown');
        await conn.sendNotification('exit');
      } catch {
        child.kill('SIGKILL');
      }
      await exited;
      clearTimeout(timer);
      conn.dispose();
    },
  };
}
