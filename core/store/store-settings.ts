import type { Checked } from '../../dsl/check.js';
import { error, type Diagnostic } from '../../dsl/diagnostics.js';
import { parseStoreAddress, STORE_SCHEMES } from './redis-address.js';
import type { StoreSettings } from './shared-store.js';

/** storeSettings reads a checked `store` directive, or says at the URL what is wrong with it. */
export function storeSettings(c: Checked): StoreSettings | Diagnostic {
  const cfg = c.config as { url: string; password?: string; prefix: string; timeout: number; ca?: string };
  const address = parseStoreAddress(cfg.url);
  if (typeof address === 'string') {
    return error('GK_CONFIG_STORE_URL', `invalid store '${cfg.url}': ${address}`, c.args[0]?.span ?? c.span, `expected ${STORE_SCHEMES}`);
  }
  return {
    url: cfg.url,
    address,
    prefix: cfg.prefix,
    timeout: cfg.timeout,
    ...(cfg.password !== undefined ? { password: cfg.password } : {}),
    ...(cfg.ca !== undefined ? { ca: cfg.ca } : {}),
  };
}
