import { connect, type ClientHttp2Session } from 'node:http2';
import { isIP } from 'node:net';

/** H2Target is an HTTP/2 upstream: host and port, over TLS (h2://) or in cleartext by prior knowledge (h2c://). */
export interface H2Target {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

/** H2PoolOptions configure an upstream's HTTP/2 sessions (per worker). */
export interface H2PoolOptions {
  /** idleTimeout closes a session that has carried no stream for this long, in ms. */
  readonly idleTimeout: number;
  readonly tlsInsecure: boolean;
}

/**
 * H2SessionPool keeps the HTTP/2 connections to one upstream. A session carries many streams
 * at once, so one usually suffices: another opens only when every open one has as many streams
 * as its peer allows (SETTINGS_MAX_CONCURRENT_STREAMS). A session that goes away (GOAWAY, a
 * closed socket, an error) leaves the pool at once, so new streams never land on it; one idle
 * for `idleTimeout` is closed, as an HTTP/1.1 keep-alive connection would be.
 */
export class H2SessionPool {
  /** sessions maps each open session to the streams it carries for the proxy now. */
  private readonly sessions = new Map<ClientHttp2Session, number>();
  private readonly origin: string;

  constructor(
    private readonly target: H2Target,
    private readonly opts: H2PoolOptions,
  ) {
    const host = isIP(target.host) === 6 ? `[${target.host}]` : target.host;
    this.origin = `${target.tls ? 'https' : 'http'}://${host}:${target.port}`;
  }

  /** take returns a session with room for one more stream, opening one when none has; `fresh` tells which. */
  take(): { session: ClientHttp2Session; fresh: boolean } {
    for (const [s, streams] of this.sessions) {
      if (hasRoom(s, streams)) {
        this.sessions.set(s, streams + 1);
        return { session: s, fresh: false };
      }
    }
    const session = this.open();
    this.sessions.set(session, 1);
    return { session, fresh: true };
  }

  /** release gives back the room a closed stream took on its session. */
  release(s: ClientHttp2Session): void {
    const streams = this.sessions.get(s);
    if (streams !== undefined) this.sessions.set(s, streams - 1);
  }

  /** close ends every session: streams in flight are cut (a worker going away has waited for its requests). */
  close(): void {
    for (const s of this.sessions.keys()) s.destroy();
    this.sessions.clear();
  }

  private open(): ClientHttp2Session {
    const t = this.target;
    const s = connect(
      this.origin,
      t.tls ? { servername: isIP(t.host) ? undefined : t.host, rejectUnauthorized: !this.opts.tlsInsecure, ALPNProtocols: ['h2'] } : {},
    );
    const forget = (): void => {
      this.sessions.delete(s);
    };
    s.once('goaway', forget);
    s.once('close', forget);
    s.on('error', forget); // each stream gets the error too: its exchange reports it
    s.setTimeout(this.opts.idleTimeout, () => {
      if (this.sessions.get(s) === 0) {
        forget();
        s.close();
      }
    });
    s.unref(); // the client's requests keep the worker busy, not an idle session
    return s;
  }
}

/** hasRoom tells whether a session carrying `streams` may take one more now. */
function hasRoom(s: ClientHttp2Session, streams: number): boolean {
  if (s.closed || s.destroyed) return false;
  // before the peer's SETTINGS arrive, 100 is the floor RFC 9113 (6.5.2) recommends
  const max = s.connecting ? 100 : (s.remoteSettings.maxConcurrentStreams ?? Infinity);
  return streams < max;
}
