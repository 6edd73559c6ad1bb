/** Level orders log lines by importance. */
export type Level = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Fields are key=value pairs attached to a log line. */
export type Fields = Readonly<Record<string, string | number | boolean | undefined>>;

/** Logger writes the error log: one line per event, never blocking on the caller. */
export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** child returns a logger that adds `fields` to every line. */
  child(fields: Fields): Logger;
  /** enabled tells whether lines at `level` are written (skip building costly messages). */
  enabled(level: Level): boolean;
}

/** LineSink receives finished log lines. */
export type LineSink = (line: string) => void;

function quote(v: string | number | boolean): string {
  const s = String(v);
  return /^[^\s"=]*$/.test(s) && s !== '' ? s : JSON.stringify(s);
}

/** TextLogger writes `TIME LEVEL [scope] message key=value ...` lines to a sink. */
export class TextLogger implements Logger {
  constructor(
    private readonly sink: LineSink,
    private readonly min: Level = 'info',
    private readonly fields: Fields = {},
  ) {}

  enabled(level: Level): boolean {
    return RANK[level] >= RANK[this.min];
  }

  child(fields: Fields): Logger {
    return new TextLogger(this.sink, this.min, { ...this.fields, ...fields });
  }

  debug(msg: string, fields?: Fields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: Fields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: Fields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: Fields): void {
    this.write('error', msg, fields);
  }

  private write(level: Level, msg: string, fields?: Fields): void {
    if (!this.enabled(level)) return;
    const all = { ...this.fields, ...fields };
    let line = `${new Date().toISOString()} ${level}`;
    if (all.plugin !== undefined) line += ` [${all.plugin}]`;
    line += ` ${msg.replace(/\n/g, '\\n')}`;
    for (const [k, v] of Object.entries(all)) if (k !== 'plugin' && v !== undefined) line += ` ${k}=${quote(v)}`;
    this.sink(line);
  }
}

/** silentLogger drops everything (for `gatekit check` and tools). */
export const silentLogger: Logger = new TextLogger(() => {}, 'error');
