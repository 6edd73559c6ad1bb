import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { checkGate } from './helpers/gate.js';
import { repoPath } from './helpers/paths.js';

describe('README', () => {
  const readme = readFileSync(repoPath('README.md'), 'utf8');

  it('tour config checks clean', async () => {
    const at = readme.indexOf('## A tour of the language');
    const start = readme.indexOf('```\n', at) + 4;
    const text = readme.slice(start, readme.indexOf('```', start));
    assert.ok(text.includes('server'), 'tour block found');
    const diags = await checkGate(text, { file: repoPath('README-tour.gate') });
    assert.deepEqual(diags.map((d) => `${d.span.line}:${d.span.col} ${d.message}`), []);
  });

  it('gives the two commands for a fresh clone, and .ci/run runs the test one', () => {
    assert.match(readme, /npm ci && npm start/);
    assert.match(readme, /npm ci && npm test/);
    const ci = readFileSync(repoPath('.ci', 'run'), 'utf8');
    assert.match(ci, /^npm ci$/m);
    assert.match(ci, /^npm test$/m);
  });
});
