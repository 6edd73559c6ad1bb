import { Agent, get } from 'node:http';

/** Outcome is one request of a loop: its status and body, or the error it met. */
export interface Outcome {
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
}

/** getOnce sends one GET on a fresh connection (no keep-alive), bounded by `ms`. */
export function getOnce(port: number, path = '/', ms = 5000): Promise<Outcome> {
  return getWith(port, path, false, ms);
}

/** getWith sends one GET through `agent` (false: a fresh connection), bounded by `ms`, and reads the whole answer. */
function getWith(port: number, path: string, agent: Agent | false, ms: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, agent, timeout: ms }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => {
        body += c.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message }));
  });
}

/**
 * RequestLoop sends requests one after another (each on its own connection) until stopped,
 * or until `max` requests or `ms` pass, recording every outcome.
 */
export class RequestLoop {
  readonly outcomes: Outcome[] = [];
  private running = true;
  readonly done: Promise<void>;

  constructor(port: number, path = '/', max = 5000, ms = 15_000) {
    const until = Date.now() + ms;
    this.done = (async () => {
      while (this.running && this.outcomes.length < max && Date.now() < until) this.outcomes.push(await getOnce(port, path));
    })();
  }

  /** stop ends the loop after the request in flight. */
  async stop(): Promise<Outcome[]> {
    this.running = false;
    await this.done;
    return this.outcomes;
  }

  /** waitFor resolves once `n` requests have completed (bounded by the loop's own limits). */
  async waitFor(n: number, ms = 5000): Promise<void> {
    const until = Date.now() + ms;
    while (this.outcomes.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  /** failures lists the outcomes that were not 2xx. */
  failures(): Outcome[] {
    return this.outcomes.filter((o) => !o.status || o.status >= 300);
  }
}

/**
 * KeepAliveLoad keeps `clients` requests in flight at once, each client reusing its own
 * keep-alive connection as browsers and load balancers do, until stopped, recording every
 * outcome. A server that closes an idle connection the instant a client reuses it shows up
 * here as an error, where one request per connection would never see it.
 */
export class KeepAliveLoad {
  readonly outcomes: Outcome[] = [];
  private running = true;
  private readonly agent: Agent;
  readonly done: Promise<void>;

  constructor(port: number, clients: number, path = '/', ms = 20_000) {
    this.agent = new Agent({ keepAlive: true, maxSockets: clients });
    const until = Date.now() + ms;
    const client = async (): Promise<void> => {
      while (this.running && Date.now() < until) this.outcomes.push(await getWith(port, path, this.agent, 5000));
    };
    this.done = Promise.all(Array.from({ length: clients }, client)).then(() => undefined);
  }

  /** waitFor resolves once `n` requests have completed, or after `ms`. */
  async waitFor(n: number, ms = 5000): Promise<void> {
    const until = Date.now() + ms;
    while (this.outcomes.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  /** stop ends every client after its request in flight, and closes the connections. */
  async stop(): Promise<Outcome[]> {
    this.running = false;
    await this.done;
    this.agent.destroy();
    return this.outcomes;
  }
}
