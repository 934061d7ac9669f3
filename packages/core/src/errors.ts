/** Codes for every error tfpipe raises on purpose. Callers branch on `code`, never on message text. */
export type ErrorCode =
  | 'E_CONFIG' // a config value is invalid (schema or cross-field check)
  | 'E_YAML' // the YAML text itself cannot be parsed
  | 'E_UNKNOWN_TYPE' // a registry lookup for a `type` that is not registered
  | 'E_DUPLICATE_TYPE' // registering the same `type` twice
  | 'E_DATA' // bad input data: a row, a file, a field
  | 'E_BACKEND' // a backend that is not installed or failed to start
  | 'E_IO' // reading or writing files
  | 'E_MODEL' // a model cannot be built, loaded or does not fit the data
  | 'E_TRAIN' // training failed (NaN loss, leak, interrupted)
  | 'E_GATE' // an evaluation gate failed
  | 'E_USAGE' // wrong CLI/API usage
  | 'E_INTERNAL';

/** Where in a config file a problem sits. `line`/`column` are 1-based. */
export interface SourceLocation {
  file?: string;
  line: number;
  column: number;
}

/**
 * What kind of problem an Issue is, for code that must tell them apart (the config loader locates an
 * unknown key at the key, a value at the value). Never branch on `message`.
 */
export type IssueCode =
  | 'unknown_key' // a key the schema does not have (did-you-mean in `suggestion`)
  | 'unknown_type' // a `type` no registry entry has
  | 'required' // a value that must be given is missing
  | 'wrong_type' // a value of the wrong kind (a string for a number)
  | 'invalid_value' // not one of the allowed values
  | 'out_of_range' // a number, length or size outside its bounds
  | 'invalid_format' // a string that does not have the required form
  | 'no_match' // matches none of the allowed forms of a union
  | 'invalid'; // any other rule (a refinement or cross-field check), said in `message`

/** One problem found in a config or input. Several are reported at once. */
export interface Issue {
  /** What kind of problem, when known (always set by `zodIssues`). */
  code?: IssueCode;
  /** Path into the config, e.g. ['train', 'earlyStopping', 'mode']. */
  path: (string | number)[];
  /** What is wrong, in words. Does not repeat the path. */
  message: string;
  /** The value received, if any. */
  received?: unknown;
  /** What is allowed, in words: `"min" | "max"`, `a number >= 0`. */
  expected?: string;
  /** The nearest known name for an unknown key or type. */
  suggestion?: string;
  /** Filled in by the config loader from the YAML's LineCounter. */
  location?: SourceLocation;
}

export interface TfpipeErrorOptions {
  path?: (string | number)[];
  issues?: Issue[];
  hint?: string;
  cause?: unknown;
}

/** The one error class of tfpipe. `code` says what kind; `issues` lists every problem found. */
export class TfpipeError extends Error {
  override readonly name = 'TfpipeError';
  readonly code: ErrorCode;
  readonly path: (string | number)[];
  readonly issues: Issue[];
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: TfpipeErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.path = options.path ?? [];
    this.issues = options.issues ?? [];
    this.hint = options.hint;
  }

  /** Builds an error (E_CONFIG unless told) out of several issues, one line each. */
  static fromIssues(issues: Issue[], code: ErrorCode = 'E_CONFIG'): TfpipeError {
    const lines = issues.map(formatIssue);
    // What was invalid: a config (file, section) unless the code says options of a call or input data.
    const what = code === 'E_USAGE' ? 'options' : code === 'E_DATA' ? 'input' : 'config';
    const head = issues.length === 1 ? `Invalid ${what}:` : `Invalid ${what} (${issues.length} problems):`;
    return new TfpipeError(code, `${head}\n${lines.map((l) => `  - ${l}`).join('\n')}`, {
      issues,
      path: issues[0]?.path ?? [],
    });
  }
}

export function isTfpipeError(e: unknown, code?: ErrorCode): e is TfpipeError {
  return e instanceof TfpipeError && (code === undefined || e.code === code);
}

/** `a.b[0].c` from ['a', 'b', 0, 'c']. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out === '' ? '(root)' : out;
}

/** Short, unambiguous rendering of a received value for messages. */
export function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).slice(0, 6).join(', ') || '(none)'}`;
  return typeof value;
}

/** `train.earlyStopping.mode: received "mx"; expected "min" | "max" (pipeline.yaml:14:11)` */
export function formatIssue(issue: Issue): string {
  let s = `${formatPath(issue.path)}: `;
  const parts: string[] = [];
  if (issue.message) parts.push(issue.message);
  if ('received' in issue && issue.received !== undefined) parts.push(`received ${formatValue(issue.received)}`);
  if (issue.expected) parts.push(`expected ${issue.expected}`);
  s += parts.join('; ');
  if (issue.suggestion) s += ` (did you mean "${issue.suggestion}"?)`;
  if (issue.location) {
    const { file, line, column } = issue.location;
    // line 0 marks a location that is not in a file (a --set override): print its origin alone.
    s += line > 0 ? ` (${file ? `${file}:` : ''}${line}:${column})` : ` (${file ?? 'command line'})`;
  }
  return s;
}
