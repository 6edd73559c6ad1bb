let second = -1;
let text = '';

/**
 * httpDate is the current time as an IMF-fixdate (RFC 9110 5.6.7), a response's Date field,
 * formatted once a second.
 */
export function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== second) {
    second = s;
    text = new Date(now).toUTCString();
  }
  return text;
}
