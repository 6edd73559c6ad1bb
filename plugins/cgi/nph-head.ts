import { BadCgiHead, CGI_MAX_HEAD, CgiHeadParser, type CgiHead } from '../../lib/index.js';

/** HeadParser reads a script's header from its output: push returns the head and the body bytes after it once it is complete. */
export interface HeadParser {
  push(chunk: Buffer): { head: CgiHead; rest: Buffer } | undefined;
  end(): never;
}

const STATUS_LINE = /^HTTP\/\d(?:\.\d)? (\d{3})(?: ([^\r\n]*))?\r?$/;

/**
 * NphHeadParser reads the head an nph- script writes for the wire (a status line, then header
 * fields) where its output cannot go to the client raw: an HTTP/2 stream, which carries no
 * HTTP/1.1 message, as Apache's mod_http2 reads one. The status line becomes a Status field and
 * the rest is a CGI header like any other; a chunked body, framed for HTTP/1.1, is refused.
 */
export class NphHeadParser implements HeadParser {
  private readonly cgi = new CgiHeadParser();
  /** seen is the output so far, until the head is complete (bounded as the head is). */
  private seen = Buffer.alloc(0);
  private statusDone = false;

  push(chunk: Buffer): { head: CgiHead; rest: Buffer } | undefined {
    this.seen = Buffer.concat([this.seen, chunk]);
    if (this.statusDone) return this.checked(this.cgi.push(chunk));
    const nl = this.seen.indexOf(10);
    if (nl < 0) {
      if (this.seen.length > CGI_MAX_HEAD) throw new BadCgiHead(`status line longer than ${CGI_MAX_HEAD} bytes`);
      return undefined;
    }
    const m = STATUS_LINE.exec(this.seen.toString('latin1', 0, nl));
    if (!m) throw new BadCgiHead('an nph- script must start its output with a status line (HTTP/1.1 200 OK)');
    this.statusDone = true;
    const status = Buffer.from(`Status: ${m[1]}${m[2] ? ` ${m[2]}` : ''}\r\n`, 'latin1');
    return this.checked(this.cgi.push(Buffer.concat([status, this.seen.subarray(nl + 1)])));
  }

  end(): never {
    if (!this.statusDone) throw new BadCgiHead(this.seen.length ? 'output ended inside the status line' : 'no output');
    return this.cgi.end();
  }

  /** checked refuses a head that frames its body in chunks (CgiHeadParser drops the field, not the framing). */
  private checked(got: { head: CgiHead; rest: Buffer } | undefined): { head: CgiHead; rest: Buffer } | undefined {
    if (!got) return undefined;
    const head = this.seen.toString('latin1', 0, this.seen.length - got.rest.length);
    if (/^transfer-encoding:(?!\s*identity\s*$)/im.test(head)) throw new BadCgiHead("an nph- script's chunked body cannot go on an HTTP/2 stream");
    return got;
  }
}
