import { fileURLToPath } from 'node:url';
import type { DependencyContainer } from 'tsyringe';
import { createConnection, StreamMessageReader, StreamMessageWriter, TextDocuments, TextDocumentSyncKind, type Connection } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { PluginRegistry } from '../core/registry.js';
import { resolvePlugins, schemaContainer } from '../core/container.js';
import { analyze, type Analysis } from './analysis.js';
import { completeAt } from './complete.js';
import { definitionAt } from './definition.js';
import { byFile } from './diagnostics.js';
import { formatEdits } from './format.js';
import { hoverAt } from './hover.js';
import { snippetsIn } from './snippets.js';
import { symbolsOf } from './symbols.js';
import { isTestFile, testCompleteAt, testFileDiagnostics, testHoverAt } from './test-file.js';

const pathOf = (uri: string): string => (uri.startsWith('file:') ? fileURLToPath(uri) : uri);

/**
 * LanguageServer answers one editor: it checks each open .gate document as `gatekit check`
 * does (unsaved texts in place of the files on disk) and answers from the last check.
 */
class LanguageServer {
  private readonly docs = new TextDocuments(TextDocument);
  private readonly analyses = new Map<string, Analysis>();
  /** running holds the documents being checked; dirty those changed meanwhile (checked again after). */
  private readonly running = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly builtins: PluginRegistry;

  constructor(
    private readonly conn: Connection,
    private readonly root: DependencyContainer,
  ) {
    this.builtins = PluginRegistry.from(resolvePlugins(schemaContainer(root)));
  }

  listen(): void {
    const c = this.conn;
    c.onInitialize(() => ({
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        completionProvider: { triggerCharacters: ['$', ' '] },
        definitionProvider: true,
        documentSymbolProvider: true,
        documentFormattingProvider: true,
      },
      serverInfo: { name: 'gatekit' },
    }));
    this.docs.onDidChangeContent((e) => this.changed(e.document.uri));
    this.docs.onDidClose((e) => {
      this.analyses.delete(e.document.uri);
      void c.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
    });
    c.onHover(
      (p) =>
        this.withDoc(p.textDocument.uri, (text, a) =>
          isTestFile(p.textDocument.uri)
            ? testHoverAt(text, p.position.line, p.position.character)
            : hoverAt(text, p.position.line, p.position.character, a.table),
        ) ?? null,
    );
    c.onCompletion(
      (p) =>
        this.withDoc(p.textDocument.uri, (text, a) =>
          isTestFile(p.textDocument.uri)
            ? testCompleteAt(text, p.position.line, p.position.character, a.table)
            : completeAt(text, p.position.line, p.position.character, { table: a.table, snippets: a.loaded ? snippetsIn(a.loaded.sources).keys() : [] }),
        ) ?? [],
    );
    c.onDefinition(
      (p) =>
        this.withDoc(p.textDocument.uri, (text, a) =>
          definitionAt(text, pathOf(p.textDocument.uri), p.position.line, p.position.character, a.loaded ? snippetsIn(a.loaded.sources) : new Map()),
        ) ?? [],
    );
    c.onDocumentSymbol((p) => this.withDoc(p.textDocument.uri, (text) => symbolsOf(text)) ?? []);
    c.onDocumentFormatting((p) => this.withDoc(p.textDocument.uri, (text) => formatEdits(text, pathOf(p.textDocument.uri))) ?? []);
    this.docs.listen(c);
    c.listen();
  }

  /** withDoc runs `fn` on an open document's text and its last check (the built-in schemas before the first). */
  private withDoc<T>(uri: string, fn: (text: string, a: Pick<Analysis, 'table'> & Partial<Analysis>) => T): T | undefined {
    const doc = this.docs.get(uri);
    return doc ? fn(doc.getText(), this.analyses.get(uri) ?? { table: this.builtins }) : undefined;
  }

  /** changed checks a document again, and every open document that read it (an included file). */
  private changed(uri: string): void {
    const path = pathOf(uri);
    this.check(uri);
    for (const [other, a] of this.analyses) if (other !== uri && a.loaded.sources.get(path) !== undefined) this.check(other);
  }

  private check(uri: string): void {
    if (this.running.has(uri)) {
      this.dirty.add(uri);
      return;
    }
    this.running.add(uri);
    void this.checkLoop(uri).finally(() => this.running.delete(uri));
  }

  private async checkLoop(uri: string): Promise<void> {
    do {
      this.dirty.delete(uri);
      if (!this.docs.get(uri)) return;
      const path = pathOf(uri);
      if (isTestFile(path)) {
        // expectations: their own syntax; running them is gatekit test's
        const doc = this.docs.get(uri)!;
        await this.conn.sendDiagnostics({ uri, version: doc.version, diagnostics: testFileDiagnostics(doc.getText(), path) });
        continue;
      }
      const a = await analyze(path, this.openTexts(), this.root);
      if (!this.docs.get(uri)) return;
      this.analyses.set(uri, a);
      const own = byFile(path, a.loaded.diagnostics, []).get(path) ?? [];
      await this.conn.sendDiagnostics({ uri, version: this.docs.get(uri)!.version, diagnostics: own });
    } while (this.dirty.has(uri));
  }

  private openTexts(): Map<string, string> {
    return new Map(this.docs.all().map((d) => [pathOf(d.uri), d.getText()]));
  }
}

/** serveLanguage speaks the Language Server Protocol on `input` and `output` until the client exits. */
export function serveLanguage(root: DependencyContainer, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): void {
  const conn = createConnection(new StreamMessageReader(input), new StreamMessageWriter(output));
  new LanguageServer(conn, root).listen();
}
