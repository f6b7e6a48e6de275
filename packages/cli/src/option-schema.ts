/**
 * One table per command for its options: each row is a key (the flag's name and the config
 * file's key), a kind, a default, a line of documentation, a scope and an optional check. From it
 * come the commander options (`addSchemaOptions`), the config file's key check and value parsing
 * (`readSchemaValues`), the type of the values (`SchemaValues`) and the reference page
 * (`renderOptionsReference`, docs/configuration.md), so an option is written once.
 */
import { dirname, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { SwitchboardError } from './errors.js';

/** How a value is written and what it becomes. */
export interface OptionKinds {
  /** A non-empty string. */
  text: string;
  /** A file name, made absolute; in a config file, relative to the config file's folder. */
  path: string;
  /** A positive number (`integer` for whole numbers). */
  number: number;
  /** A flag without a value: true when given. */
  flag: boolean;
  /** `on` or `off` (a config file may also say true or false). */
  toggle: boolean;
  /** One of `choices`. */
  choice: string;
  /** A repeatable flag, or a list (or a single string) in a config file. */
  list: string[];
  /** A comma-separated list (or a YAML list). */
  csv: string[];
  /** `HOST:PORT`, IPv6 hosts in brackets. */
  'host-port': { host: string; port: number };
  /** A flag with an optional number: `--flag` alone means `flagDefault`. */
  'optional-number': number;
}

export type OptionKind = keyof OptionKinds;

export interface OptionSpec {
  readonly key: string;
  readonly kind: OptionKind;
  /** The placeholder in `--help` (`<seconds>`). */
  readonly arg?: string;
  readonly choices?: readonly string[];
  /** The value when neither flag nor config key gives one (none: the value is undefined). */
  readonly default?: string | number | boolean | readonly string[];
  /** What the docs say of a default that is computed (the number of cores). */
  readonly defaultText?: string;
  /** `optional-number`: the value of the flag given without a number. */
  readonly flagDefault?: number;
  readonly integer?: boolean;
  /** `number`: 0 is allowed too (the default is > 0). */
  readonly zero?: boolean;
  readonly max?: number;
  /** The command cannot run without it (no config file fills it). */
  readonly required?: boolean;
  /** Only where `scope` applies (docs group by it). */
  readonly scope: string;
  readonly doc: string;
  /** A check of the parsed value: a message saying what is wrong, or undefined. */
  readonly check?: (value: never) => string | undefined;
}

type ValueOf<S extends OptionSpec> = S['kind'] extends 'choice'
  ? S extends { readonly choices: readonly (infer C)[] }
    ? C
    : string
  : OptionKinds[S['kind']];

/** The parsed values of a table: defaulted keys always hold a value, the others may not. */
export type SchemaValues<T extends readonly OptionSpec[]> = {
  readonly [S in T[number] as S['key']]: S extends { readonly default: unknown } | { readonly required: true } ? ValueOf<S> : ValueOf<S> | undefined;
};

export type ValueSource = 'flag' | 'config';

/** An error naming the flag or config key at fault. */
export function optionError(source: ValueSource, key: string, message: string): SwitchboardError {
  if (source === 'flag') return new SwitchboardError('ERR_SWITCHBOARD_INVALID_FLAG', `--${key}: ${message}`);
  return new SwitchboardError('ERR_SWITCHBOARD_INVALID_CONFIG', `config key "${key}": ${message}`);
}

/** commander's attribute name of a key (`tls-verify-client` → `tlsVerifyClient`). */
export function attributeName(key: string): string {
  return key.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function defaultDoc(spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  if (spec.default === undefined) return undefined;
  if (Array.isArray(spec.default)) return spec.default.length === 0 ? undefined : spec.default.join(spec.kind === 'csv' ? ',' : ' ');
  if (spec.kind === 'toggle') return spec.default === true ? 'on' : 'off';
  return String(spec.default);
}

/** Adds every option of the table to a commander command (no commander defaults: see readSchemaValues). */
export function addSchemaOptions(command: Command, specs: readonly OptionSpec[]): Command {
  for (const spec of specs) {
    const arg = spec.arg ?? (spec.kind === 'choice' || spec.kind === 'toggle' ? 'value' : spec.kind);
    const flags = spec.kind === 'flag' ? `--${spec.key}` : spec.kind === 'optional-number' ? `--${spec.key} [${arg}]` : `--${spec.key} <${arg}>`;
    const fallback = defaultDoc(spec);
    const option = new Option(flags, fallback === undefined ? spec.doc : `${spec.doc} (default: ${fallback})`);
    if (spec.kind === 'choice' && spec.choices !== undefined) option.choices(spec.choices);
    if (spec.kind === 'toggle') option.choices(['on', 'off']);
    if (spec.required === true) option.makeOptionMandatory();
    if (spec.kind === 'list') option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    command.addOption(option);
  }
  return command;
}

/** The flags of a parsed commander command, by key, and the keys typed on the command line. */
export function commandValues(command: Command, specs: readonly OptionSpec[]): { flags: Record<string, unknown>; given: Set<string> } {
  const flags: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const spec of specs) {
    const name = attributeName(spec.key);
    flags[spec.key] = command.getOptionValue(name);
    if (command.getOptionValueSource(name) === 'cli') given.add(spec.key);
  }
  return { flags, given };
}

/** Checks a config file's mapping: every key must be in the table. */
export function checkConfigKeys(document: Record<string, unknown>, specs: readonly OptionSpec[]): void {
  const known = new Set(specs.map((spec) => spec.key));
  for (const key of Object.keys(document)) {
    if (!known.has(key)) throw optionError('config', key, `unknown key (known keys: ${[...known].join(', ')})`);
  }
}

function parseValue(spec: OptionSpec, value: unknown, source: ValueSource, configDir: string | undefined): unknown {
  const fail = (message: string): never => {
    throw optionError(source, spec.key, message);
  };
  switch (spec.kind) {
    case 'text':
      if (typeof value !== 'string' || value.length === 0) fail('must be a non-empty string');
      return value;
    case 'path':
      if (typeof value !== 'string' || value.length === 0) fail('must be a file name');
      // Workers read files themselves: an absolute path, a config file's relative to its folder.
      return resolve(source === 'config' && configDir !== undefined ? configDir : '.', value as string);
    case 'flag':
      if (typeof value !== 'boolean') fail('must be true or false');
      return value;
    case 'toggle':
      if (value === true || value === 'on') return true;
      if (value === false || value === 'off') return false;
      return fail('must be on or off');
    case 'choice':
      if (typeof value !== 'string' || !(spec.choices ?? []).includes(value)) fail(`must be one of ${(spec.choices ?? []).join(', ')}`);
      return value;
    case 'list': {
      const list = Array.isArray(value) ? value : [value];
      if (!list.every((item) => typeof item === 'string' && item.length > 0)) fail('must be a string or a list of strings');
      return list;
    }
    case 'csv': {
      const list = Array.isArray(value) ? value : String(value).split(',');
      const items = list.map((item) => (typeof item === 'string' ? item.trim() : ''));
      if (items.some((item) => item.length === 0)) fail('must be a comma-separated list without empty items');
      return items;
    }
    case 'host-port': {
      const match = typeof value === 'string' ? /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value) : null;
      if (match === null || Number(match[2]) > 65535) fail(`"${String(value)}" is not HOST:PORT`);
      return { host: (match?.[1] as string).replace(/^\[|\]$/g, ''), port: Number(match?.[2]) };
    }
    case 'optional-number':
      if (value === true) return spec.flagDefault;
      return parseNumber(spec, value, fail);
    case 'number':
      return parseNumber(spec, value, fail);
  }
}

function parseNumber(spec: OptionSpec, value: unknown, fail: (message: string) => never): number {
  const number = typeof value === 'boolean' ? Number.NaN : Number(value);
  if (!Number.isFinite(number) || number < 0 || (number === 0 && spec.zero !== true)) fail(spec.zero === true ? 'must be a number, 0 or more' : 'must be a positive number');
  if (spec.integer === true && !Number.isInteger(number)) fail('must be a whole number');
  if (spec.max !== undefined && number > spec.max) fail(`must be at most ${spec.max}`);
  return number;
}

/** The values of every key, where each came from, and whether a user set it. */
export interface ReadValues<T extends readonly OptionSpec[]> {
  readonly values: SchemaValues<T>;
  /** Where a key's value came from (a default counts as a flag: errors then name the flag). */
  source(key: T[number]['key']): ValueSource;
  /** Whether the flag or the config file gave a value (not the default). */
  isSet(key: T[number]['key']): boolean;
}

/**
 * Merges a config file's values (already key-checked) under the flags typed on the command line
 * (`given`; flags not typed fall back to the file, then to the default), parses each by its kind
 * and runs its check. Errors name the flag or the config key.
 */
export function readSchemaValues<T extends readonly OptionSpec[]>(
  specs: T,
  flags: Readonly<Record<string, unknown>>,
  given: ReadonlySet<string>,
  file: Readonly<Record<string, unknown>>,
  configPath: string | undefined,
): ReadValues<T> {
  const configDir = configPath === undefined ? undefined : dirname(resolve(configPath));
  const values: Record<string, unknown> = {};
  const sources = new Map<string, ValueSource>();
  const set = new Set<string>();
  for (const spec of specs) {
    const fromFile = !given.has(spec.key) && file[spec.key] !== undefined;
    const source: ValueSource = fromFile ? 'config' : 'flag';
    const raw = fromFile ? file[spec.key] : flags[spec.key];
    sources.set(spec.key, source);
    if (raw === undefined) {
      if (spec.required === true) throw optionError(source, spec.key, 'is required');
      values[spec.key] = spec.default === undefined ? undefined : Array.isArray(spec.default) ? [...spec.default] : spec.default;
      continue;
    }
    set.add(spec.key);
    const value = parseValue(spec, raw, source, configDir);
    const problem = spec.check?.(value as never);
    if (problem !== undefined) throw optionError(source, spec.key, problem);
    values[spec.key] = value;
  }
  return {
    values: values as SchemaValues<T>,
    source: (key) => sources.get(key) ?? 'flag',
    isSet: (key) => set.has(key),
  };
}

function markdownCell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

/** The reference page of a table, grouped by scope in the table's order. */
export function renderOptionsReference(title: string, intro: string, specs: readonly OptionSpec[]): string {
  const lines = [`# ${title}`, '', intro, ''];
  const scopes = [...new Set(specs.map((spec) => spec.scope))];
  for (const scope of scopes) {
    lines.push(`## ${scope}`, '', '| flag / config key | value | default | meaning |', '| --- | --- | --- | --- |');
    for (const spec of specs.filter((candidate) => candidate.scope === scope)) {
      const value =
        spec.kind === 'flag'
          ? 'true / false (flag without a value)'
          : spec.kind === 'toggle'
            ? '`on` / `off`'
            : spec.kind === 'choice'
              ? (spec.choices ?? []).map((choice) => `\`${choice}\``).join(' / ')
              : spec.kind === 'optional-number'
                ? `[${spec.arg ?? 'number'}] (alone: ${spec.flagDefault})`
                : spec.kind === 'list'
                  ? `${spec.arg ?? 'text'} (repeatable; a list in a config file)`
                  : spec.kind === 'csv'
                    ? `${spec.arg ?? 'list'} (comma-separated; or a list)`
                    : spec.kind === 'path'
                      ? `${spec.arg ?? 'file'} (in a config file: relative to it)`
                      : `${spec.arg ?? spec.kind}${spec.integer === true ? ' (whole number)' : ''}${spec.zero === true ? ' (0 or more)' : ''}`;
      const fallback = defaultDoc(spec);
      const shown = spec.required === true ? 'required' : fallback === undefined ? '–' : spec.defaultText === undefined ? `\`${fallback}\`` : fallback;
      lines.push(`| \`--${spec.key}\` | ${markdownCell(value)} | ${markdownCell(shown)} | ${markdownCell(spec.doc)} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}
