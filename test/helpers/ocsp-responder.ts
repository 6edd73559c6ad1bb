import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** DAYS is how long test certificates are valid, in days. */
const DAYS = 30;

function openssl(dir: string, args: readonly string[]): string {
  return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** indexTime is a time as OpenSSL's CA index writes it (YYMMDDHHMMSSZ). */
function indexTime(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/^\d\d|[-T:]|\.\d+/g, '')
    .replace(/Z$/, 'Z');
}

/** Issued is a certificate a TestCa made: its chain, leaf and key files, and its serial (hex). */
export interface Issued {
  readonly cert: string;
  readonly leaf: string;
  readonly key: string;
  readonly serial: string;
}

/**
 * TestCa is a certificate authority made by openssl in a test's folder, with its OCSP
 * responders: `openssl ocsp` (its server mode) answering from the CA's index file.
 */
export class TestCa {
  private readonly responders: ChildProcess[] = [];
  private serial = 0x1000;

  private constructor(readonly dir: string) {}

  /** make creates the CA's key, certificate (ca.pem) and empty index. */
  static make(dir: string): TestCa {
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      String(DAYS),
      '-subj',
      '/CN=gatekit test CA',
    ]);
    writeFileSync(join(dir, 'index.txt'), '');
    return new TestCa(dir);
  }

  /** caPem is the CA certificate, for a client to trust. */
  get caPem(): string {
    return readFileSync(join(this.dir, 'ca.pem'), 'utf8');
  }

  /**
   * issue makes `NAME.pem` (leaf then CA: the chain a server sends) and `NAME.key` for `name`,
   * naming `responder` as its OCSP responder when given, and records it in the index as valid.
   * `ocspSigning` makes a certificate for a delegated responder instead.
   */
  issue(name: string, responder: string | undefined, o: { ocspSigning?: boolean } = {}): Issued {
    const serial = (this.serial++).toString(16).toUpperCase();
    const ext = [
      `subjectAltName=DNS:${name}`,
      ...(responder ? [`authorityInfoAccess=OCSP;URI:${responder}`] : []),
      ...(o.ocspSigning ? ['extendedKeyUsage=OCSPSigning'] : []),
    ];
    writeFileSync(join(this.dir, `${name}.ext`), ext.join('\n') + '\n');
    openssl(this.dir, [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    ]);
    openssl(this.dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${serial}`,
      '-days',
      String(DAYS),
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.leaf.pem`,
    ]);
    writeFileSync(join(this.dir, `${name}.pem`), readFileSync(join(this.dir, `${name}.leaf.pem`), 'utf8') + this.caPem);
    appendFileSync(join(this.dir, 'index.txt'), `V\t${indexTime(Date.now() + DAYS * 86_400_000)}\t\t${serial}\tunknown\t/CN=${name}\n`);
    return { cert: join(this.dir, `${name}.pem`), leaf: join(this.dir, `${name}.leaf.pem`), key: join(this.dir, `${name}.key`), serial };
  }

  /** revoke marks a certificate revoked (keyCompromise) in the index; a responder reads the index again when it changes. */
  revoke(serial: string): void {
    const file = join(this.dir, 'index.txt');
    const at = indexTime(Date.now() - 60_000);
    writeFileSync(file, readFileSync(file, 'utf8').replace(new RegExp(`^V\\t(\\S+)\\t\\t${serial}\\t`, 'm'), `R\t$1\t${at},keyCompromise\t${serial}\t`));
  }

  /**
   * respond starts `openssl ocsp` on `port` of 127.0.0.1 (any free one by default), signing as `signer` (the CA by
   * default, or another certificate, from this CA or not) with responses valid `minutes`; it resolves with
   * its URL and a counter of the requests it received. It reads the index at start: issue and
   * revoke before (OpenSSL notices a later change only in another second).
   */
  respond(o: { port?: number; signer?: Issued; minutes?: number } = {}): Promise<{ url: string; requests: () => number }> {
    const [cert, key] = o.signer ? [o.signer.leaf, o.signer.key] : ['ca.pem', 'ca.key'];
    const child = spawn(
      'openssl',
      [
        'ocsp',
        '-index',
        'index.txt',
        '-host',
        '127.0.0.1',
        '-port',
        String(o.port ?? 0),
        '-rsigner',
        cert,
        '-rkey',
        key,
        '-CA',
        'ca.pem',
        '-nmin',
        String(o.minutes ?? 60),
      ],
      { cwd: this.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.responders.push(child);
    let out = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`openssl ocsp did not start:\n${out}`)), 10_000);
      const onData = (c: Buffer): void => {
        out += c.toString();
        const port = /ACCEPT \S*:(\d+)/.exec(out)?.[1];
        if (port === undefined) return;
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${port}`, requests: () => out.split('Received request').length - 1 });
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`openssl ocsp exited ${code}:\n${out}`));
      });
    });
  }

  /** response is the DER OCSP response `openssl ocsp` gives for `cert` without a server (signed by the CA or `signer`). */
  response(cert: Issued, o: { signer?: Issued } = {}): Buffer {
    const [rcert, rkey] = o.signer ? [o.signer.leaf, o.signer.key] : ['ca.pem', 'ca.key'];
    openssl(this.dir, ['ocsp', '-issuer', 'ca.pem', '-cert', cert.leaf, '-no_nonce', '-reqout', 'req.der']);
    openssl(this.dir, [
      'ocsp',
      '-index',
      'index.txt',
      '-rsigner',
      rcert,
      '-rkey',
      rkey,
      '-CA',
      'ca.pem',
      '-reqin',
      'req.der',
      '-respout',
      'resp.der',
      '-nmin',
      '60',
    ]);
    return readFileSync(join(this.dir, 'resp.der'));
  }

  /** stop ends every responder this CA started. */
  async stop(): Promise<void> {
    await Promise.all(
      this.responders.map((c) =>
        c.exitCode !== null || c.signalCode !== null
          ? Promise.resolve()
          : new Promise((r) => {
              c.once('exit', r);
              c.kill();
            }),
      ),
    );
    this.responders.length = 0;
  }
}
