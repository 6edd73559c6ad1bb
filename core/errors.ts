import { STATUS_CODES } from 'node:http';

/** ERROR_CODES lists every stable error code the kernel throws, with what it means. */
export const ERROR_CODES = {
  GK_HTTP: 'an HTTP error answered to the client',
  GK_PLUGIN_DUPLICATE: 'two plugins share a name',
  GK_DIRECTIVE_DUPLICATE: 'two plugins declare the same directive',
  GK_PLUGIN_REQUIRES: 'a plugin requires another that is not loaded',
  GK_PLUGIN_INVALID: 'a plugin module does not export a valid plugin',
  GK_PLUGIN_LOAD: 'a plugin module could not be found or imported',
  GK_PLUGIN_SCHEMA: 'a plugin declares a malformed directive or schema',
  GK_CONFIG_INVALID: 'the configuration has errors (see its diagnostics)',
  GK_LISTEN: 'a listener could not be opened',
  GK_CHAIN_NEXT_TWICE: 'a middleware called next() twice',
  GK_RESPONSE_STARTED: 'a head hook or body filter was added after the response head went out',
} as const;

/** ErrorCode is one of the stable codes in ERROR_CODES. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** GateError is a programmer or environment error with a stable code. */
export class GateError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GateError';
  }
}

/** HTTP_ERROR brands HttpError instances across copies of gatekit. */
const HTTP_ERROR = Symbol.for('gatekit.HttpError');

/**
 * HttpError is thrown by handlers and middleware; the kernel renders it as a response. Its
 * message is for the log: the client reads only the status, its reason phrase and the
 * request id, unless the message is `expose`d.
 */
export class HttpError extends Error {
  readonly code = 'GK_HTTP';
  /**
   * An HttpError thrown by a plugin that holds its own copy of gatekit is an HttpError here
   * too (its class is another object): instances carry a registered symbol as their brand.
   */
  static override [Symbol.hasInstance](v: unknown): boolean {
    return Function.prototype[Symbol.hasInstance].call(this, v) || (this === HttpError && (v as { [HTTP_ERROR]?: true } | null)?.[HTTP_ERROR] === true);
  }
  readonly [HTTP_ERROR] = true;
  constructor(
    readonly status: number,
    message?: string,
    options?: { cause?: unknown; headers?: Record<string, string>; logged?: boolean; expose?: boolean },
  ) {
    super(message ?? STATUS_CODES[status] ?? 'Error', options);
    this.name = 'HttpError';
    this.headers = options?.headers ?? {};
    this.logged = options?.logged ?? false;
    this.expose = options?.expose ?? false;
  }
  readonly headers: Record<string, string>;
  /** logged is true when the plugin wrote its own error line for it: the kernel then writes none. */
  readonly logged: boolean;
  /**
   * expose is true when the message is meant for the client (what is wrong with its request)
   * and reveals nothing internal (no path on disk, pid, upstream or limit): it then goes in
   * the response body too.
   */
  readonly expose: boolean;
}
