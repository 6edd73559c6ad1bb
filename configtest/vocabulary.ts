/** TestWord is one word of a `gatekit test` file: where it goes, how it is written, what it means. */
export interface TestWord {
  /** place: `top` at the top of the file, `request` and `check` inside an `expect` block. */
  readonly place: 'top' | 'request' | 'check';
  readonly usage: string;
  readonly doc: string;
}

/**
 * TEST_WORDS are the words of a test file, read by the parser (its help texts) and by the
 * language server (completion and hover in `.gate.test` files).
 */
export const TEST_WORDS: Readonly<Record<string, TestWord>> = {
  expect: {
    place: 'top',
    usage: 'expect METHOD URL { ... }',
    doc: 'One request and what must happen to it. URL is absolute (`https://shop.test/x`: its host, scheme and port pick the server) or a path (`/x`: sent to the address, `Host: 127.0.0.1`, so the default server answers)',
  },
  request_header: {
    place: 'request',
    usage: 'request_header NAME VALUE',
    doc: 'Send this request header (repeat it for more; `Host` replaces the one the URL gives, and two make the 400 a server gives them)',
  },
  request_basic_auth: { place: 'request', usage: 'request_basic_auth USER PASSWORD', doc: 'Send `Authorization: Basic` with these credentials' },
  request_body: { place: 'request', usage: 'request_body TEXT', doc: 'Send TEXT as the request body (with its Content-Length)' },
  repeat: {
    place: 'request',
    usage: 'repeat N',
    doc: 'Send the request N times, one after the other (to reach a `limit`); the checks look at the last answer',
  },
  status: { place: 'check', usage: 'status CODE', doc: 'The answer has this status' },
  route: {
    place: 'check',
    usage: 'route "= /exact" | route "~ REGEX" | route /prefix/',
    doc: 'The route that served the request, as `gatekit routes` writes it (after internal redirects, the last one)',
  },
  handler: { place: 'check', usage: 'handler NAME', doc: 'The handler directive that served the request (`none` when no route served it)' },
  header: {
    place: 'check',
    usage: 'header NAME [VALUE | ~ REGEX]',
    doc: 'The answer has this header: present, equal to VALUE (several values joined with `, `), or matching REGEX',
  },
  no_header: { place: 'check', usage: 'no_header NAME', doc: 'The answer does not have this header' },
  body: { place: 'check', usage: 'body TEXT | body ~ REGEX', doc: 'The answer body (decoded when gzip, deflate or br) is TEXT, or matches REGEX' },
};

/** wordsAt lists the test words that go in a place. */
export function wordsAt(place: TestWord['place']): string[] {
  return Object.keys(TEST_WORDS).filter((w) => TEST_WORDS[w].place === place);
}
