import assert from 'node:assert/strict';
import { startGate, type TestGate } from '../helpers/gate.js';
import { rawGet } from '../helpers/raw-http.js';
import { CGI_FILE, cgiConfig } from './cgi-fixtures.js';

describe('cgi: what is never executed', () => {
  let gate: TestGate | undefined;
  before(async () => {
    gate = await startGate(cgiConfig(), { file: CGI_FILE });
  });
  after(async () => {
    await gate?.close();
    gate = undefined;
  });

  const cases: [string, number][] = [
    ['/cgi-bin/../outside.sh', 404], // normalised to /outside.sh: no route
    ['/cgi-bin/%2e%2e/outside.sh', 404],
    ['/cgi-bin/escape.sh', 403], // a symlink to a script outside the folder (follow_symlinks is off)
    ['/cgi-bin/sub/..%2F..%2Foutside.sh', 404], // decoded and normalised to /outside.sh
    ['/cgi-bin/sub%2F..%2Fenv.sh', 400], // encoded slashes are refused, even inside the folder
    ['/cgi-bin/sub%5Cinner.sh', 400],
    ['/cgi-bin/../../etc/passwd', 400], // climbs above the root
    ['/cgi-bin/.hidden.sh', 404],
    ['/cgi-bin/missing.sh', 404],
    ['/cgi-bin/missing.sh/more', 404],
    ['/cgi-bin/plain.txt', 403], // neither executable nor mapped
    ['/cgi-bin/sub/', 403], // a folder
    ['/cgi-bin/', 403],
  ];
  for (const [target, status] of cases) {
    it(`answers ${status} for ${target} and runs nothing`, async () => {
      const res = await rawGet(gate!.port, target);
      assert.equal(res.status, status, res.text);
      assert.doesNotMatch(res.text, /must never run/);
    });
  }
});
