import { arg, directive, option, type ConfigOf } from '../../core/index.js';

const nameValue = (name: string, doc: string) =>
  option({
    name,
    doc,
    repeatable: true,
    args: [arg.string('name'), arg.template('value')],
  });

/** headers changes request or response headers: `headers { set X-Frame-Options DENY; remove Server }`. */
export const headers = directive({
  name: 'headers',
  kind: 'middleware',
  doc: 'Change response headers (or request headers, with `headers request`): headers [request|response] { set NAME VALUE; add NAME VALUE; default NAME VALUE; remove NAME... }',
  schema: {
    args: [arg.enum('side', { values: ['request', 'response'], optional: true, default: 'response' })],
    block: 'required',
    options: [
      nameValue('set', 'Set a header, replacing any of the same name (request variables allowed)'),
      nameValue('add', 'Add a header, keeping any of the same name'),
      nameValue('default', 'Set a header only when the handler did not'),
      {
        name: 'remove',
        doc: 'Remove headers by name; NAME* removes every header starting with NAME',
        repeatable: true,
        args: [arg.string('name', { variadic: true })],
      },
    ],
  },
});

/** HeadersConfig is a checked `headers`. */
export type HeadersConfig = ConfigOf<typeof headers>;
