import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { nginxBin, nginxVersion, startNginx } from './nginx-peer.js';
import { PKG_DIR } from './paths.js';
import { freePort, startChild, unlessExits, waitFor200, waitForFile, type Child } from './procs.js';

// The stacks gatekit's wsgi and asgi replace, as people deploy them: Nginx in front of an
// application server on a unix socket, and the application servers alone. Each runs the same
// app files with the same number of Python processes as gatekit. From Debian's packages and
// the venv .ci/run makes:
//   apt-get install -y nginx uwsgi uwsgi-plugin-python3
//   .venv/bin/pip install gunicorn 'uvicorn[standard]'

/** VENV is the venv .ci/run makes (Gunicorn, Uvicorn, Django, FastAPI); VENV_BIN its bin folder. */
export const VENV = join(PKG_DIR, '.venv');
/** VENV_BIN holds the venv's interpreter and the servers' commands. */
export const VENV_BIN = join(VENV, 'bin');

/** PyApp is one Python app of the app-server scenarios; every server loads it from the same files. */
export interface PyApp {
  readonly kind: 'wsgi' | 'asgi';
  /** dir is the folder every server runs in and imports the app from. */
  readonly dir: string;
  /** callable is MODULE:NAME, as gatekit, uWSGI, Gunicorn and Uvicorn all take it. */
  readonly callable: string;
  /** path is the URL path the load asks for. */
  readonly path: string;
}

/** StackSize is how many processes each stack runs: Python processes, and Nginx workers in front. */
export interface StackSize {
  readonly procs: number;
  readonly nginxWorkers: number;
}

/** Stack is one way of serving a PyApp other than gatekit: one row of the table. */
export interface Stack {
  readonly name: string;
  /** role: the target gatekit must reach, a stretch target, or a row shown for information. */
  readonly role: 'target' | 'stretch' | 'extra';
  /** missing says what is not installed and how to install it; undefined when everything is there. */
  missing(): string | undefined;
  /** versions names the programs this stack runs and their versions. */
  versions(): string[];
  /** start starts the stack in `dir`, adding each process to `children` as soon as it is started (to meter and stop), and resolves with the URL to load. */
  start(app: PyApp, dir: string, size: StackSize, children: Child[]): Promise<string>;
}

const UWSGI = '/usr/bin/uwsgi';
const NGINX_APT = 'apt-get install -y nginx';

/** output runs a command and returns its stdout and stderr, trimmed ('' when it cannot run). */
function output(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20_000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

/** pyVersions reads installed distributions' versions from the venv: 'uvloop 0.23.0'. */
export function pyVersions(dists: readonly string[]): string[] {
  const code =
    'import sys\nfrom importlib import metadata\nfor d in sys.argv[1:]:\n    try: print(d, metadata.version(d))\n    except metadata.PackageNotFoundError: pass';
  return output(join(VENV_BIN, 'python'), ['-c', code, ...dists])
    .split('\n')
    .filter(Boolean);
}

/** uwsgiPython is the Python version Debian's python3 plugin for uWSGI embeds: '3.11.2'. */
function uwsgiPython(): string {
  return output(UWSGI, ['--plugin', 'python3', '--python-version']).split('\n').pop() ?? '';
}

/** venvPython is the venv interpreter's version: '3.11.7'. */
export function venvPython(): string {
  return output(join(VENV_BIN, 'python'), ['--version']).replace(/^Python /, '');
}

const minor = (v: string): string => v.split('.').slice(0, 2).join('.');

/** missingUwsgi checks uWSGI, its python3 plugin, and that the plugin's Python is the venv's (its compiled packages must load). */
function missingUwsgi(): string | undefined {
  if (!existsSync(UWSGI) || !/^\d/.test(uwsgiPython())) return 'uWSGI with its python3 plugin is not installed (apt-get install -y uwsgi uwsgi-plugin-python3)';
  if (minor(uwsgiPython()) !== minor(venvPython()))
    return `uWSGI's python3 plugin embeds Python ${uwsgiPython()}, the venv is Python ${venvPython()}: make the venv with the system's python3`;
  return undefined;
}

/** missingVenvCommand checks for a command in the venv. */
function missingVenvCommand(cmd: string, pip: string): string | undefined {
  return existsSync(join(VENV_BIN, cmd)) ? undefined : `${cmd} is not in the venv (.venv/bin/pip install ${pip})`;
}

/** NginxFront is what Nginx is told about the app server on `sock`: an upstream block (optional) and the `location /` lines. */
interface NginxFront {
  readonly upstream?: string;
  readonly location: readonly string[];
}

/** behindNginx starts the app server, waits for its unix socket, then starts Nginx in front of it. */
async function behindNginx(
  app: PyApp,
  dir: string,
  size: StackSize,
  children: Child[],
  server: (sock: string) => Child,
  front: (sock: string) => NginxFront,
): Promise<string> {
  const sock = join(dir, 'app.sock');
  const backend = server(sock);
  children.push(backend);
  await waitForFile(sock, backend);
  const port = await freePort();
  const f = front(sock);
  await unlessExits(
    backend,
    startNginx(nginxBin()!, dir, {
      workers: size.nginxWorkers,
      port,
      path: app.path,
      children,
      http: [...(f.upstream ? [f.upstream] : []), `server { listen 127.0.0.1:${port}; location / {`, ...f.location.map((l) => `  ${l}`), '} }'],
    }),
  );
  return `http://127.0.0.1:${port}${app.path}`;
}

/** alone starts an app server listening on a port of its own and waits for its first 200. */
async function alone(app: PyApp, children: Child[], start: (port: number) => Child): Promise<string> {
  const port = await freePort();
  const child = start(port);
  children.push(child);
  await waitFor200(port, child, 20_000, 20, app.path);
  return `http://127.0.0.1:${port}${app.path}`;
}

const missingNginx = (): string | undefined => (nginxBin() ? undefined : `nginx is not installed (${NGINX_APT})`);
const nginxName = (): string[] => [nginxVersion(nginxBin() ?? 'nginx')];

/** startUwsgi runs uWSGI as deployed behind Nginx: master, N processes, the venv, a unix socket, no request log. */
function startUwsgi(app: PyApp, sock: string, procs: number): Child {
  return startChild('uwsgi', UWSGI, [
    '--strict',
    '--plugin',
    'python3',
    '--virtualenv',
    VENV,
    '--master',
    '--processes',
    String(procs),
    '--socket',
    sock,
    '--chmod-socket=666',
    '--chdir',
    app.dir,
    '--pythonpath',
    app.dir,
    '--module',
    app.callable,
    '--need-app',
    '--die-on-term',
    '--no-orphans',
    '--disable-logging',
  ]);
}

/** nginxUwsgi is Nginx's uwsgi_pass to uWSGI on a unix socket: the classic fast Django deployment. */
export function nginxUwsgi(role: Stack['role']): Stack {
  return {
    name: 'Nginx -> uWSGI (uwsgi_pass, unix socket)',
    role,
    missing: () => missingNginx() ?? missingUwsgi(),
    versions: () => [...nginxName(), `uWSGI ${output(UWSGI, ['--version'])} (Debian's python3 plugin, Python ${uwsgiPython()})`],
    start: (app, dir, size, children) =>
      behindNginx(
        app,
        dir,
        size,
        children,
        (sock) => startUwsgi(app, sock, size.procs),
        (sock) => ({ location: ['include /etc/nginx/uwsgi_params;', `uwsgi_pass unix:${sock};`] }),
      ),
  };
}

/** uvicornArgs are Uvicorn's options for N workers on the given loop and HTTP parser (named, so a missing package fails loudly). */
function uvicornArgs(app: PyApp, procs: number, fast: boolean): string[] {
  return [
    '--workers',
    String(procs),
    '--loop',
    fast ? 'uvloop' : 'asyncio',
    '--http',
    fast ? 'httptools' : 'h11',
    '--app-dir',
    app.dir,
    '--log-level',
    'warning',
    '--no-access-log',
    app.callable,
  ];
}

const uvicornVersions = (fast: boolean): string[] => [
  output(join(VENV_BIN, 'uvicorn'), ['--version']).replace(/^Running /, ''),
  ...(fast ? pyVersions(['uvloop', 'httptools']) : []),
];
const missingUvicorn = (fast: boolean): string | undefined =>
  missingVenvCommand('uvicorn', fast ? "'uvicorn[standard]'" : 'uvicorn') ??
  (fast && pyVersions(['uvloop', 'httptools']).length < 2 ? "uvloop or httptools is not in the venv (.venv/bin/pip install 'uvicorn[standard]')" : undefined);

/** nginxUvicorn is Nginx proxying with kept-alive upstream connections to Uvicorn (uvloop + httptools) on a unix socket. */
export function nginxUvicorn(role: Stack['role']): Stack {
  return {
    name: 'Nginx -> Uvicorn uvloop + httptools (proxy_pass, keepalive, unix socket)',
    role,
    missing: () => missingNginx() ?? missingUvicorn(true),
    versions: () => [...nginxName(), ...uvicornVersions(true)],
    start: (app, dir, size, children) =>
      behindNginx(
        app,
        dir,
        size,
        children,
        (sock) => startChild('uvicorn', join(VENV_BIN, 'uvicorn'), ['--uds', sock, ...uvicornArgs(app, size.procs, true)], { cwd: app.dir }),
        (sock) => ({
          upstream: `upstream uvicorn { server unix:${sock}; keepalive 64; }`,
          location: [
            'proxy_pass http://uvicorn;',
            'proxy_http_version 1.1;',
            'proxy_set_header Connection "";',
            'proxy_set_header Host $http_host;',
            'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
            'proxy_set_header X-Forwarded-Proto $scheme;',
            'proxy_redirect off;',
          ],
        }),
      ),
  };
}

/** uvicornAlone is Uvicorn serving HTTP itself: with uvloop + httptools (`fast`) or with asyncio + h11. */
export function uvicornAlone(role: Stack['role'], fast: boolean): Stack {
  return {
    name: fast ? 'Uvicorn uvloop + httptools, alone' : 'Uvicorn asyncio + h11, alone',
    role,
    missing: () => missingUvicorn(fast),
    versions: () => uvicornVersions(fast),
    start: (app, _dir, size, children) =>
      alone(app, children, (port) =>
        startChild('uvicorn', join(VENV_BIN, 'uvicorn'), ['--host', '127.0.0.1', '--port', String(port), ...uvicornArgs(app, size.procs, fast)], {
          cwd: app.dir,
        }),
      ),
  };
}

/** gunicornArgs are Gunicorn's options for N sync workers bound to `bind`. */
function gunicornArgs(app: PyApp, procs: number, bind: string): string[] {
  return ['--workers', String(procs), '--worker-class', 'sync', '--bind', bind, '--chdir', app.dir, '--log-level', 'warning', app.callable];
}

const gunicornVersion = (): string[] => [output(join(VENV_BIN, 'gunicorn'), ['--version']).replace(/[()]/g, '').replace('version ', '')];

/** nginxGunicorn is Nginx proxying to Gunicorn's sync workers on a unix socket, as Gunicorn's docs deploy it. */
export function nginxGunicorn(role: Stack['role']): Stack {
  return {
    name: 'Nginx -> Gunicorn sync workers (proxy_pass, unix socket)',
    role,
    missing: () => missingNginx() ?? missingVenvCommand('gunicorn', 'gunicorn'),
    versions: () => [...nginxName(), ...gunicornVersion()],
    start: (app, dir, size, children) =>
      behindNginx(
        app,
        dir,
        size,
        children,
        (sock) => startChild('gunicorn', join(VENV_BIN, 'gunicorn'), gunicornArgs(app, size.procs, `unix:${sock}`)),
        (sock) => ({
          upstream: `upstream gunicorn { server unix:${sock} fail_timeout=0; }`,
          location: [
            'proxy_pass http://gunicorn;',
            'proxy_set_header Host $http_host;',
            'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
            'proxy_redirect off;',
          ],
        }),
      ),
  };
}

/** gunicornAlone is Gunicorn's sync workers serving HTTP themselves (one connection per request). */
export function gunicornAlone(role: Stack['role']): Stack {
  return {
    name: 'Gunicorn sync workers, alone',
    role,
    missing: () => missingVenvCommand('gunicorn', 'gunicorn'),
    versions: gunicornVersion,
    start: (app, _dir, size, children) =>
      alone(app, children, (port) => startChild('gunicorn', join(VENV_BIN, 'gunicorn'), gunicornArgs(app, size.procs, `127.0.0.1:${port}`))),
  };
}
