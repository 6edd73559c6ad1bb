import { arg, option } from '../../core/index.js';

/** PythonPoolDocs are the docs of the pool options whose meaning differs from one Python pool plugin to another. */
export interface PythonPoolDocs {
  /** workers says what one Python process serves at once. */
  readonly workers: string;
  /** max_requests says what counts as a request. */
  readonly max_requests: string;
  /** timeout says what the timeout bounds and what happens past it. */
  readonly timeout: string;
}

/**
 * pythonPoolOptions are the options every Python pool directive takes (`wsgi`, `asgi`):
 * workers, python, chdir, env, pythonpath, max_requests and timeout, read by
 * pythonPoolSettings. Those whose meaning differs by plugin get their docs from `docs`.
 */
export function pythonPoolOptions(docs: PythonPoolDocs) {
  return [
    option({ name: 'workers', doc: docs.workers, default: '1', args: [arg.int('count', { min: 1, max: 1024 })] }),
    option({
      name: 'python',
      doc: 'Python interpreter: a name found on PATH or a path such as ./.venv/bin/python',
      default: 'python3',
      args: [arg.string('command')],
    }),
    option({
      name: 'chdir',
      doc: "Folder the Python processes run in, put first on sys.path (. is the .gate file's folder)",
      default: '.',
      args: [arg.path('dir')],
    }),
    option({
      name: 'env',
      doc: 'Environment variable for the Python processes (besides PATH, HOME, LANG, TZ...): env NAME VALUE',
      repeatable: true,
      args: [arg.string('name'), arg.string('value')],
    }),
    option({ name: 'pythonpath', doc: 'Folder added to sys.path (PYTHONPATH), after chdir', repeatable: true, args: [arg.path('dir')] }),
    option({ name: 'max_requests', doc: docs.max_requests, default: '0', args: [arg.int('count', { min: 0 })] }),
    option({ name: 'timeout', doc: docs.timeout, default: '30s', args: [arg.duration('timeout')] }),
  ] as const;
}
