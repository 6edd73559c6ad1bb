import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { acceptsOn, freePort } from './ports.js';

/** PEBBLE_MISSING says why the ACME tests skip, or is undefined when Debian's pebble is installed. */
export const PEBBLE_MISSING = spawnSync('pebble', ['-h']).error ? 'pebble is not installed (apt-get install pebble)' : undefined;

/** PebbleOptions are the ports pebble checks challenges on, and how long its certificates live. */
export interface PebbleOptions {
  readonly httpPort: number;
  readonly tlsPort: number;
  /** validity is the certificates' life in seconds (pebble's certificateValidityPeriod). */
  readonly validity?: number;
}

/**
 * Pebble is Let's Encrypt's ACME test server with pebble-challtestsrv as its DNS (every name
 * resolves to 127.0.0.1), on ports of its own, serving its directory with a certificate this
 * helper made (`caRoot`, which gatekit's `ca_root` trusts).
 */
export class Pebble {
  private output = '';
  private readonly waiters = new Set<() => void>();

  private constructor(
    private readonly pebble: ChildProcess,
    private readonly dns: ChildProcess,
    readonly directory: string,
    readonly caRoot: string,
    private readonly management: number,
  ) {
    const onData = (c: Buffer): void => {
      this.output += c.toString();
      for (const w of this.waiters) w();
    };
    pebble.stdout!.on('data', onData);
    pebble.stderr!.on('data', onData);
  }

  /**
   * start runs challtestsrv and pebble in `dir`, and resolves once pebble serves its directory.
   * Its ports come from freePort, so another process may take one before pebble binds it
   * (pebble then exits): it tries again on new ports, three times at most.
   */
  static async start(dir: string, o: PebbleOptions): Promise<Pebble> {
    for (let attempt = 1; ; attempt++) {
      const p = await Pebble.startOnce(dir, o);
      if (await p.serves()) return p;
      await p.stop();
      if (attempt === 3) throw new Error(`pebble did not serve its directory ${p.directory}:\n${p.output}`);
    }
  }

  private static async startOnce(dir: string, o: PebbleOptions): Promise<Pebble> {
    const [acmePort, mgmtPort, dnsPort, dnsMgmt] = [await freePort(), await freePort(), await freePort(), await freePort()];
    // pebble (Go) refuses names with characters a PrintableString cannot hold: a plain CN only
    const tlsPair = generate([{ name: 'commonName', value: 'localhost' }], {
      days: 1,
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    } as Parameters<typeof generate>[1]);
    const caRoot = join(dir, 'pebble-tls.pem');
    writeFileSync(caRoot, tlsPair.cert);
    writeFileSync(join(dir, 'pebble-tls.key'), tlsPair.private);
    writeFileSync(
      join(dir, 'pebble.json'),
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${mgmtPort}`,
          certificate: caRoot,
          privateKey: join(dir, 'pebble-tls.key'),
          httpPort: o.httpPort,
          tlsPort: o.tlsPort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
          certificateValidityPeriod: o.validity ?? 3600,
        },
      }),
    );
    const dns = spawn(
      'pebble-challtestsrv',
      [
        '-dns01',
        `127.0.0.1:${dnsPort}`,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-management',
        `127.0.0.1:${dnsMgmt}`,
        '-defaultIPv4',
        '127.0.0.1',
        '-defaultIPv6',
        '',
      ],
      { stdio: 'ignore' },
    );
    const pebble = spawn('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
    });
    return new Pebble(pebble, dns, `https://127.0.0.1:${acmePort}/dir`, caRoot, mgmtPort);
  }

  /**
   * serves tells whether pebble answers its directory. It logs "Listening on" before it binds,
   * and a port that something else took meanwhile accepts connections too: only the directory
   * itself says that pebble is there.
   */
  private async serves(): Promise<boolean> {
    try {
      await this.waitFor(/Listening on: /);
      await acceptsOn(Number(new URL(this.directory).port), () => this.pebble.exitCode !== null);
      return /"newNonce"/.test(await textOf(this.directory)) && this.pebble.exitCode === null;
    } catch {
      return false;
    }
  }

  /** issued counts the certificates pebble has issued. */
  get issued(): number {
    return (this.output.match(/Issued certificate serial/g) ?? []).length;
  }

  /** waitFor resolves once pebble's log matches `re`. */
  waitFor(re: RegExp, ms = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (re.test(this.output)) {
          done();
          resolve();
        } else if (this.pebble.exitCode !== null) {
          done();
          reject(new Error(`pebble exited:\n${this.output}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`pebble: timed out waiting for ${re}:\n${this.output}`));
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** root fetches the root certificate pebble signs with (made anew at each start), for clients to trust. */
  root(): Promise<string> {
    return textOf(`https://127.0.0.1:${this.management}/roots/0`);
  }

  /** stop ends pebble and its DNS server, and waits for both. */
  async stop(): Promise<void> {
    await Promise.all(
      [this.pebble, this.dns].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) {
              resolve();
              return;
            }
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
  }
}

/** textOf GETs an HTTPS URL of pebble's (its own certificate, not checked) and resolves to the body; at most 5 s. */
function textOf(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve(text));
    }).on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error(`${url}: no answer within 5 s`)));
  });
}
