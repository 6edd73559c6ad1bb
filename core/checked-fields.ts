import { OutgoingMessage, validateHeaderName, validateHeaderValue, type ServerResponse } from 'node:http';
import { pipelineOf } from './response.js';

// Header fields checked once and sent on many responses. Node checks every field of every
// head it writes (two regular expressions per field, most of writeHead's cost), even when a
// handler sends the same fields again and again: a cache hit, a fixed answer.

/** OUT_HEADERS is the key under which Node's responses hold the fields set so far; undefined if this Node has none (then fields are sent as usual). */
const OUT_HEADERS: symbol | undefined = Object.getOwnPropertySymbols(new OutgoingMessage()).find((s) => s.description === 'kOutHeaders');

type FieldValue = string | readonly string[];
type Held = Record<string, [string, FieldValue]>;

/** CheckedFields are header fields whose names and values Node accepted once, made by checkedFields(). */
export class CheckedFields {
  /** raw is the fields as writeHead's flat list, for a response that cannot take them checked. */
  readonly raw: readonly FieldValue[];
  private readonly names: readonly string[];
  private readonly lower: readonly string[];
  private readonly values: readonly FieldValue[];
  /** whole is the fields as Node holds them, with properties of one fixed order: copied whole onto a response that holds none yet. */
  private readonly whole: Readonly<Held>;

  /** use checkedFields() */
  constructor(names: string[], values: FieldValue[]) {
    this.names = names;
    this.lower = names.map((n) => n.toLowerCase());
    this.values = values;
    this.raw = names.flatMap((n, i) => [n, values[i]]);
    const whole: Held = {};
    for (let i = 0; i < names.length; i++) whole[this.lower[i]] = [names[i], values[i]];
    this.whole = whole;
  }

  /**
   * setOn sets the fields on a response that holds its fields where Node keeps them, as
   * setHeader would (replacing same-named ones) but without checking each again; false for
   * any other response (an HTTP/2 one), which the caller gives the raw list instead.
   */
  setOn(res: object): boolean {
    if (OUT_HEADERS === undefined || !(res instanceof OutgoingMessage)) return false;
    const held = res as unknown as Record<symbol, Held | null>;
    const out = (held[OUT_HEADERS] ??= Object.create(null) as Held);
    // a new pair per response: Node's appendHeader changes the pair it finds in place
    for (let i = 0; i < this.names.length; i++) out[this.lower[i]] = [this.names[i], this.values[i]];
    return true;
  }

  /**
   * takeWhole gives a response that holds no fields and runs no head hooks these fields, pairs
   * and all, in one copy: nothing can change them before writeHead sends them at once, and
   * Node reads an object of fixed properties much faster than the dictionary setHeader makes.
   */
  takeWhole(res: object): boolean {
    if (OUT_HEADERS === undefined || !(res instanceof OutgoingMessage) || pipelineOf(res)?.staged !== false) return false;
    const held = res as unknown as Record<symbol, Held | null>;
    if (held[OUT_HEADERS]) return false;
    held[OUT_HEADERS] = { ...this.whole };
    return true;
  }
}

/** checkedFields checks header fields as Node's setHeader does, once: it throws Node's error for a bad name or value. */
export function checkedFields(fields: Iterable<readonly [string, string | number | readonly string[]]>): CheckedFields {
  const names: string[] = [];
  const values: FieldValue[] = [];
  for (const [name, value] of fields) {
    validateHeaderName(name);
    const v = typeof value === 'number' ? String(value) : value;
    for (const one of typeof v === 'string' ? [v] : v) validateHeaderValue(name, one);
    names.push(name);
    values.push(v);
  }
  return new CheckedFields(names, values);
}

/**
 * writeCheckedHead is res.writeHead(status, fields) for fields checked once: on an HTTP/1.x
 * response Node writes them without checking them again. Fields set on the response before
 * stay unless a checked field of the same name replaces them, as with writeHead.
 */
export function writeCheckedHead(res: ServerResponse, status: number, fields: CheckedFields): void {
  if (fields.takeWhole(res) || fields.setOn(res)) res.writeHead(status);
  else res.writeHead(status, fields.raw as string[]);
}
