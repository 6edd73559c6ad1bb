import { generateCstDts } from './chevrotain.js';
import { parser } from './parser.js';

/** cstDts is the TypeScript declaration of the CST that the grammar produces (dsl/cst.d.ts). */
export function cstDts(): string {
  return generateCstDts(parser.getGAstProductions());
}

// `node dist/dsl/gen-cst-dts.js > dsl/cst.d.ts` regenerates the file; a test fails when it is stale.
if (process.argv[1]?.endsWith('gen-cst-dts.js')) process.stdout.write(cstDts());
