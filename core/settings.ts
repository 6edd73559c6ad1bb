import { dirname, resolve } from 'node:path';
import type { Span } from '../dsl/ast.js';
import type { Checked } from '../dsl/check.js';
import { error, type Diagnostic } from '../dsl/diagnostics.js';
import type { DirectiveSpec } from '../dsl/schema.js';
import { parseValue } from '../dsl/values.js';
import type { GlobalSettings } from './config.js';
import { globalSettings } from './kernel-schema.js';
import { storeSettings } from './store/store-settings.js';

const KEYS: Record<string, keyof GlobalSettings> = {
  workers: 'workers',
  graceful_timeout: 'gracefulTimeout',
  pid: 'pid',
  max_requests: 'maxRequests',
  max_requests_jitter: 'maxRequestsJitter',
  worker_timeout: 'workerTimeout',
  keepalive_timeout: 'keepaliveTimeout',
  send_timeout: 'sendTimeout',
  header_timeout: 'headerTimeout',
  request_timeout: 'requestTimeout',
  log_level: 'logLevel',
  http2_max_concurrent_streams: 'http2MaxStreams',
  http2_max_header_size: 'http2MaxHeaderSize',
};

/** DEFAULTS are the settings' values when left out, read from the defaults their schemas declare (written once, there). */
const DEFAULTS = ((): GlobalSettings => {
  const out: Record<string, unknown> = {};
  for (const d of globalSettings as readonly DirectiveSpec[]) {
    const key = d.name === 'error_log' ? 'errorLog' : KEYS[d.name];
    const a = d.schema.args?.[0];
    if (!key || !a || d.default === undefined) continue;
    const r = parseValue(d.default, a, '/');
    if (!r.ok) throw new Error(`kernel setting '${d.name}': bad default '${d.default}'`);
    out[key] = r.value;
  }
  return out as unknown as GlobalSettings;
})();

/** MIN_WORKER_TIMEOUT: below this, a worker busy with one slow start-up or GC pause would be killed over and over. */
const MIN_WORKER_TIMEOUT = 1000;

/**
 * SettingsBuilder collects the kernel's own settings from `global` blocks, derives the defaults
 * that depend on what the user set, and reports settings that cannot run together, at the value
 * at fault: `check` must refuse what `run` would fail on.
 */
export class SettingsBuilder {
  private readonly values: Record<string, unknown> = { ...DEFAULTS };
  /** given holds where each setting the user wrote stands, and its text. */
  private readonly given = new Map<keyof GlobalSettings, { span: Span; text: string }>();
  /** problems are diagnostics found while taking settings, reported by finish(). */
  private readonly problems: Diagnostic[] = [];

  /** take records a setting; false when `c` is not one of the kernel's (a plugin's global directive). */
  take(c: Checked): boolean {
    const key = KEYS[c.name];
    if (key) this.values[key] = Object.values(c.config)[0];
    else if (c.name === 'user') this.values.user = c.config;
    else if (c.name === 'error_log') {
      const { target, level } = c.config as { target: string; level?: string };
      this.values.errorLog = target === 'stderr' || target === 'stdout' ? target : resolve(dirname(c.span.file), target);
      if (level) this.values.logLevel = level;
    } else if (c.name === 'store') {
      const store = storeSettings(c);
      if ('code' in store) this.problems.push(store);
      else this.values.store = store;
    } else return false;
    if (key && c.args[0]) this.given.set(key, { span: c.args[0].span, text: c.args[0].value });
    return true;
  }

  /** finish returns the settings, with their derived defaults, and appends a diagnostic for each that cannot run. */
  finish(diags: Diagnostic[]): GlobalSettings {
    const v = this.values as { -readonly [K in keyof GlobalSettings]: GlobalSettings[K] };
    diags.push(...this.problems);
    const header = this.given.get('headerTimeout');
    const request = this.given.get('requestTimeout');
    // Node refuses a header timeout longer than the request timeout: a request_timeout under the
    // default header_timeout brings the default down with it, as Node's own default does.
    if (!header && v.requestTimeout > 0) v.headerTimeout = Math.min(v.headerTimeout, v.requestTimeout);
    if (!request && v.requestTimeout > 0) v.requestTimeout = Math.max(v.requestTimeout, v.headerTimeout); // and a long header_timeout takes the request's up
    if (header && request && v.requestTimeout > 0 && v.headerTimeout > v.requestTimeout) {
      diags.push(
        error(
          'GK_CONFIG_SETTING_CONFLICT',
          `'header_timeout' ${header.text} is longer than 'request_timeout' ${request.text}`,
          header.span,
          `the headers are part of the request: make header_timeout at most ${request.text}, or leave it out`,
        ),
      );
    }
    const worker = this.given.get('workerTimeout');
    if (worker && v.workerTimeout > 0 && v.workerTimeout < MIN_WORKER_TIMEOUT) {
      diags.push(
        error(
          'GK_CONFIG_SETTING_RANGE',
          `'worker_timeout' ${worker.text} is too short`,
          worker.span,
          'a worker is killed when its event loop stalls this long: give at least 1s, or 0s to turn the watchdog off',
        ),
      );
    }
    return v;
  }
}
