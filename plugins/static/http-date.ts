const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAY = '(Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d\\d):(\\d\\d):(\\d\\d)';
/** The three forms of RFC 9110 5.6.7, each read as UTC: IMF-fixdate, the obsolete RFC 850 form, and asctime. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d\\d) ${MONTH} (\\d{4}) ${TIME} GMT$`);
const RFC850 = new RegExp(`^${LONG_DAY}, (\\d\\d)-${MONTH}-(\\d\\d) ${TIME} GMT$`);
const ASCTIME = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * parseHttpDate reads an HTTP-date (RFC 9110 5.6.7) as seconds since the epoch; anything
 * else, including a date that does not exist, is undefined, so that a conditional request
 * with a bad date is served as if it had none (RFC 9110 13.1.3). Date.parse would accept
 * "2099", and read an asctime date in the local time zone.
 */
export function parseHttpDate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  let m = IMF_FIXDATE.exec(t);
  if (m) return utc(Number(m[4]), m[3], Number(m[2]), m.slice(5, 8));
  m = RFC850.exec(t);
  if (m) return utc(fullYear(Number(m[4])), m[3], Number(m[2]), m.slice(5, 8));
  m = ASCTIME.exec(t);
  if (m) return utc(Number(m[7]), m[2], Number(m[3].trim()), m.slice(4, 7));
  return undefined;
}

/** fullYear reads a two-digit year as the latest past year with those digits, unless that is over 50 years ahead (RFC 9110 5.6.7). */
function fullYear(yy: number): number {
  const now = new Date().getUTCFullYear();
  const year = Math.floor(now / 100) * 100 + yy;
  return year > now + 50 ? year - 100 : year;
}

function utc(year: number, month: string, day: number, [h, mi, s]: string[]): number | undefined {
  const mon = MONTHS.indexOf(month);
  const [hour, minute, second] = [Number(h), Number(mi), Number(s)];
  if (hour > 23 || minute > 59 || second > 60) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(year, mon, day); // not Date.UTC: it reads years 0-99 as 1900-1999
  d.setUTCHours(hour, minute, Math.min(second, 59)); // a leap second counts as :59
  if (d.getUTCDate() !== day || d.getUTCMonth() !== mon) return undefined; // 31 Feb and the like
  return Math.floor(d.getTime() / 1000);
}
