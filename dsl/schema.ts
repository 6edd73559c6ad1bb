// Schemas are pure data: a plugin's schema.ts imports nothing at run time, so `check`,
// `fmt` and `plugins` can read every schema with no side effects.

/** ArgType names the typed values an argument can hold (see values.ts for their syntax). */
export type ArgType = 'string' | 'int' | 'duration' | 'size' | 'bool' | 'enum' | 'path' | 'address' | 'url' | 'regex' | 'template' | 'status';

/** ArgSpec describes one positional argument. `T` is the type of its checked value. */
export interface ArgSpec<N extends string = string, T = unknown> {
  /** name is the config key (snake_case); messages show it upper-cased. */
  readonly name: N;
  readonly type: ArgType;
  readonly optional?: boolean;
  /** default is used when an optional argument is left out; written as in a .gate file. */
  readonly default?: string;
  /** variadic takes every remaining argument (at least one unless optional). */
  readonly variadic?: boolean;
  /** values lists the words an enum accepts. */
  readonly values?: readonly string[];
  /** min and max bound an int or status; max also bounds a duration (ms, default 24d) or a size (bytes, default 1024GB). */
  readonly min?: number;
  readonly max?: number;
  /** schemes restricts a url (e.g. ['http', 'https']). */
  readonly schemes?: readonly string[];
  /** also accepts extra words besides the type (e.g. 'auto' for an int). */
  readonly also?: readonly string[];
  /** phantom carries T for ConfigOf; it is never set. */
  readonly __value?: T;
}

/** OptionSpec is a child directive of a block: `static ./public { index index.html }`. */
export interface OptionSpec<N extends string = string> extends Schema {
  readonly name: N;
  readonly doc?: string;
  readonly repeatable?: boolean;
  readonly required?: boolean;
  /**
   * default is the option's value when it is left out, written as its arguments would be in a
   * .gate file (`'30s'`, `'on'`, `'1 within 10s'`): the kernel applies it, `gatekit plugins` shows it.
   */
  readonly default?: string;
}

/** ContextName names a block whose children are directives, not options. */
export type ContextName = 'top' | 'global' | 'server' | 'route';

/** Schema is the shape of a directive or option: arguments, then either options or a context block. */
export interface Schema {
  readonly args?: readonly ArgSpec[];
  readonly options?: readonly OptionSpec[];
  /** contains names the context of a block of directives (kernel structure directives). */
  readonly contains?: ContextName;
  /** block says an options block is required ('required') or allowed (default when options exist). */
  readonly block?: 'required';
}

/**
 * DirectiveKind says where a directive goes and what it does: a handler answers a route, a
 * middleware wraps it, a certificate source gives its server's certificate (one per server),
 * and server and global directives are settings of their block.
 */
export type DirectiveKind = 'handler' | 'middleware' | 'certificate' | 'server' | 'global';

/** DIRECTIVE_KINDS lists every DirectiveKind, for checking a plugin's schema. */
export const DIRECTIVE_KINDS: readonly DirectiveKind[] = ['handler', 'middleware', 'certificate', 'server', 'global'];

/** ARG_TYPES lists every ArgType, for checking a plugin's schema. */
export const ARG_TYPES: readonly ArgType[] = ['string', 'int', 'duration', 'size', 'bool', 'enum', 'path', 'address', 'url', 'regex', 'template', 'status'];

/** DirectiveSpec declares one directive a plugin owns. */
export interface DirectiveSpec<S extends Schema = Schema> {
  readonly name: string;
  readonly kind: DirectiveKind;
  /** doc is one line, shown by `gatekit plugins`. */
  readonly doc: string;
  readonly schema: S;
  /** unique allows at most one occurrence per block. */
  readonly unique?: boolean;
  /** default is a unique setting's value when it is left out (the kernel's `global` settings), written as in a .gate file. */
  readonly default?: string;
}

type ArgOpts = Omit<ArgSpec, 'name' | 'type' | '__value'>;
const mk =
  <T>(type: ArgType) =>
  <const N extends string, const O extends ArgOpts = {}>(name: N, opts?: O) =>
    ({ name, type, ...opts }) as { readonly name: N; readonly type: ArgType; readonly __value?: T } & O;

/** Address is a checked listen or upstream address. */
export type Address =
  | { readonly kind: 'tcp'; readonly host?: string; readonly port: number; readonly text: string }
  | { readonly kind: 'unix'; readonly path: string; readonly text: string };

/** TemplateLike is a compiled string with request variables (see dsl/template.ts). */
export interface TemplateLike {
  readonly source: string;
  readonly isStatic: boolean;
  /** render substitutes each variable through `lookup`, which is also told the text rendered before it. */
  render(lookup: (name: string, before: string) => string | undefined): string;
}

/** arg builds argument specs: `arg.duration('interval', { optional: true, default: '5s' })`. */
export const arg = {
  string: mk<string>('string'),
  int: mk<number>('int'),
  duration: mk<number>('duration'),
  size: mk<number>('size'),
  bool: mk<boolean>('bool'),
  /** enum's value is one of its `values`, typed as their union. */
  enum: <const N extends string, const V extends readonly string[], const O extends Omit<ArgOpts, 'values'> = {}>(name: N, opts: O & { readonly values: V }) =>
    ({ name, type: 'enum', ...opts }) as { readonly name: N; readonly type: ArgType; readonly values: V; readonly __value?: V[number] } & O,
  path: mk<string>('path'),
  address: mk<Address>('address'),
  url: mk<string>('url'),
  regex: mk<RegExp>('regex'),
  template: mk<TemplateLike>('template'),
  status: mk<number>('status'),
};

/** option builds an option spec. */
export function option<const O extends OptionSpec>(spec: O): O {
  return spec;
}

/** directive builds a directive spec, keeping literal types for ConfigOf. */
export function directive<const S extends Schema, const D extends DirectiveSpec<S>>(spec: D & { schema: S }): D {
  return spec;
}

// ---- ConfigOf: the type of the checked config a schema produces ----

type ValueOfArg<A> = A extends { __value?: infer T }
  ? A extends { variadic: true }
    ? T[]
    : A extends { optional: true }
      ? A extends { default: string }
        ? T
        : T | undefined
      : T
  : unknown;
type ArgsConfig<S> = S extends { args: readonly (infer A)[] }
  ? { readonly [K in A as K extends { name: infer N extends string } ? N : never]: ValueOfArg<K> }
  : {};
/** OptionValue: an option with a block is a config of its own, one argument is its value, several a config, none `true`. */
type OptionValue<O> = O extends { options: readonly unknown[] }
  ? ConfigOf<O>
  : O extends { args: readonly [infer A] }
    ? ValueOfArg<A>
    : O extends { args: readonly unknown[] }
      ? ArgsConfig<O>
      : true;
type OptionField<O> = O extends { repeatable: true } ? OptionValue<O>[] : OptionValue<O>;
/** Always: an option with a default, or a required one, is there in every checked config. */
type Always<O> = O extends { default: string } | { required: true } ? true : false;
type OptionsConfig<S> = S extends { options: readonly (infer O)[] }
  ? { readonly [K in O as K extends { name: infer N extends string } ? (Always<K> extends true ? N : never) : never]: OptionField<K> } & {
      readonly [K in O as K extends { name: infer N extends string } ? (Always<K> extends true ? never : N) : never]?: OptionField<K>;
    }
  : {};

/** Config is a checked config: argument and option values by name. */
export type Config = { readonly [key: string]: unknown };

/** ConfigOf is the checked config type of a directive spec or schema. */
export type ConfigOf<D> = D extends { schema: infer S } ? ArgsConfig<S> & OptionsConfig<S> : ArgsConfig<D> & OptionsConfig<D>;
