// The VS Code client of `gatekit lsp`: it starts the language server over stdio for .gate
// files. Plain CommonJS, so the extension needs no build step.
const { workspace } = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

/** activate starts `gatekit lsp` (the command set in gatekit.path, else gatekit on PATH). */
function activate() {
  const command = workspace.getConfiguration('gatekit').get('path') || 'gatekit';
  const run = { command, args: ['lsp'], transport: TransportKind.stdio };
  client = new LanguageClient(
    'gatekit',
    'gatekit',
    { run, debug: run },
    {
      documentSelector: [
        { scheme: 'file', language: 'gate' },
        { scheme: 'untitled', language: 'gate' },
      ],
    },
  );
  return client.start();
}

/** deactivate stops the language server with the editor. */
function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
