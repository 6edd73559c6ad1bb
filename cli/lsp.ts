import type { DependencyContainer } from 'tsyringe';
import { serveLanguage } from '../lsp/server.js';

/**
 * lspCommand runs the language server on stdin and stdout until the editor ends it. stdout
 * carries the protocol alone, so anything a plugin prints with console.log goes to stderr.
 */
export function lspCommand(root: DependencyContainer): Promise<number> {
  console.log = console.error;
  console.info = console.error;
  serveLanguage(root, process.stdin, process.stdout);
  return new Promise(() => {}); // the connection ends the process on the client's 'exit'
}
