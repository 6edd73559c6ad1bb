import { createHash, timingSafeEqual } from 'node:crypto';
import apacheMd5 from 'apache-md5';
import bcrypt from 'bcryptjs';

// apache-md5 is CommonJS (module.exports = fn) but its typings declare a default export: the import is the function.
const aprMd5 = apacheMd5 as unknown as (password: string, salt: string) => string;

/** Hash is a password hash in one of the htpasswd schemes gatekit accepts. */
export interface Hash {
  readonly scheme: 'bcrypt' | 'apr1' | 'sha1';
  readonly text: string;
}

/**
 * parseHash reads an htpasswd hash, or says why it is refused: plain text and crypt(3)
 * (DES, 8-character passwords) are not accepted, as neither protects the password.
 */
export function parseHash(text: string): Hash | string {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(text)) return { scheme: 'bcrypt', text };
  if (/^\$apr1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}$/.test(text)) return { scheme: 'apr1', text };
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(text)) return { scheme: 'sha1', text };
  if (/^\$(2|apr1|\{SHA\})/.test(text)) return 'a malformed hash';
  return 'a plain-text or crypt(3) password (use bcrypt: htpasswd -B)';
}

/** HtpasswdEntry is one parsed line: a user and a hash, or why the line is refused. */
export interface HtpasswdEntry {
  readonly line: number;
  readonly user: string;
  readonly hash: Hash | string;
}

/** parseHtpasswd reads `user:hash` lines; blank lines and # comments are skipped. */
export function parseHtpasswd(text: string): HtpasswdEntry[] {
  const out: HtpasswdEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      out.push({ line: i + 1, user: '', hash: "not a 'user:hash' line" });
      return;
    }
    out.push({ line: i + 1, user: line.slice(0, colon), hash: parseHash(line.slice(colon + 1)) });
  });
  return out;
}

/** sameText compares two strings in time that depends on neither (both are hashed to equal length first). */
export function sameText(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** isSlow tells whether checking a password against `hash` is slow on purpose (bcrypt), or slow in JavaScript (apr1: 1,000 rounds of MD5, some ms). */
export function isSlow(hash: Hash): boolean {
  return hash.scheme !== 'sha1';
}

/** checkHash checks a password against a hash, synchronously (a slow one belongs on a worker thread); the comparison itself is constant-time. */
export function checkHash(password: string, hash: Hash): boolean {
  switch (hash.scheme) {
    case 'bcrypt':
      return bcrypt.compareSync(password, hash.text);
    case 'apr1':
      return sameText(aprMd5(password, hash.text), hash.text);
    case 'sha1':
      return sameText(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash.text);
  }
}
