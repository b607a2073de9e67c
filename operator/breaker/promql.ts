// PromQL syntax and type checking in-process, without Prometheus: the admission webhook refuses a
// TradingShard whose circuit-breaker queries (spec.circuitBreaker.rules[].query) Prometheus would
// refuse, at `kubectl apply` rather than on every breaker tick, with a position and a reason the
// shard's author can act on. Written from the PromQL documentation (querying/basics, operators,
// functions), with the precedence and lexical rules of Prometheus' own parser.
//
// Not covered: experimental syntax (duration arithmetic such as [5m*2], fill()/anchored/smoothed,
// the native-histogram trim operators </ and >/), RE2-only regex syntax other than (?i)-style flags
// and (?P<name>), and checks Prometheus makes only when it evaluates (e.g. matching cardinality).

export type PromqlType = 'scalar' | 'vector' | 'matrix' | 'string';

export interface PromqlOptions {
  /** Accept what a Prometheus started with --enable-feature=promql-experimental-functions accepts. */
  experimental?: boolean;
}

export interface Matcher {
  name: string;
  op: '=' | '!=' | '=~' | '!~';
  value: string;
}

export interface VectorMatching {
  on: boolean;
  labels: string[];
  group?: 'left' | 'right';
  include: string[];
}

/** The syntax tree; `pos` is where the node starts in the query (a UTF-16 offset). */
export type PromqlNode = { type: PromqlType; pos: number } & (
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'selector'; name?: string; matchers: Matcher[]; rangeMs?: number; offset?: number; at?: number | 'start' | 'end' }
  | { kind: 'subquery'; expr: PromqlNode; rangeMs: number; stepMs?: number; offset?: number; at?: number | 'start' | 'end' }
  | { kind: 'call'; name: string; args: PromqlNode[] }
  | { kind: 'aggregate'; op: string; param?: PromqlNode; expr: PromqlNode; grouping?: { without: boolean; labels: string[] } }
  | { kind: 'binary'; op: string; lhs: PromqlNode; rhs: PromqlNode; bool: boolean; matching?: VectorMatching }
  | { kind: 'unary'; op: '-' | '+'; expr: PromqlNode }
  | { kind: 'paren'; expr: PromqlNode }
);

export type PromqlValidation = { ok: true; type: PromqlType; maxRangeMs: number } | { ok: false; error: string; position: number };

/** Bounds on what a shard may ask of Prometheus (the CRD's maxLength is the same 4096). */
export const promqlLimits = { maxLength: 4096, maxDepth: 64 } as const;

export class PromqlError extends Error {
  constructor(
    readonly reason: string,
    readonly position: number,
    query = '',
  ) {
    super(`${reason} at ${position}${lineColumn(query, position)}`);
    this.name = 'PromqlError';
  }
}

/** A query that spans lines also gets its line and column (1-based), as YAML editors show them. */
function lineColumn(query: string, position: number): string {
  if (!query.includes('\n')) return '';
  const before = query.slice(0, position).split('\n');
  return ` (line ${before.length}, column ${before.at(-1)!.length + 1})`;
}

// ---------------------------------------------------------------------------------------------
// Functions and operators

interface Signature {
  args: Array<{ type: PromqlType; optional?: boolean; rest?: boolean }>;
  returns: PromqlType;
  experimental: boolean;
}

const letters: Record<string, PromqlType> = { v: 'vector', m: 'matrix', s: 'scalar', t: 'string' };

// "arguments>result: names"; v instant vector, m range vector, s scalar, t string; `?` optional,
// `*` any number more; a leading `!` marks functions behind promql-experimental-functions.
const signatures = [
  'v>v: abs absent acos acosh asin asinh atan atanh ceil cos cosh deg exp floor histogram_avg histogram_count ' +
    'histogram_stddev histogram_stdvar histogram_sum ln log10 log2 rad sgn sin sinh sort sort_desc sqrt tan tanh timestamp',
  'm>v: absent_over_time avg_over_time changes count_over_time delta deriv first_over_time idelta increase irate ' +
    'last_over_time max_over_time min_over_time present_over_time rate resets stddev_over_time stdvar_over_time sum_over_time',
  'v?>v: day_of_month day_of_week day_of_year days_in_month hour minute month year',
  'vss>v: clamp',
  'vs>v: clamp_max clamp_min',
  'ssv>v: histogram_fraction',
  'sv>v: histogram_quantile',
  'vtt t*>v: label_join',
  'vtttt>v: label_replace',
  'ms>v: predict_linear',
  'sm>v: quantile_over_time',
  'vs?>v: round',
  'v>s: scalar',
  's>v: vector',
  '>s: pi time',
  '!mss>v: double_exponential_smoothing',
  '!vtss*>v: histogram_quantiles',
  '!vv?>v: info',
  '!m>v: mad_over_time ts_of_first_over_time ts_of_last_over_time ts_of_max_over_time ts_of_min_over_time',
  '!vt*>v: sort_by_label sort_by_label_desc',
  '!v>v: start_timestamp',
  '!>s: start end step range',
  '!ss>s: max_of min_of',
];

const functions = new Map<string, Signature>();
for (const line of signatures) {
  const [, bang, args, returns, names] = /^(!?)([^>]*)>(\w): (.*)$/.exec(line)!;
  const signature: Signature = {
    args: [...args!.replace(/ /g, '').matchAll(/(\w)([?*]?)/g)].map(([, t, mark]) => ({
      type: letters[t!]!,
      optional: mark === '?',
      rest: mark === '*',
    })),
    returns: letters[returns!]!,
    experimental: bang === '!',
  };
  for (const name of names!.split(' ')) functions.set(name, signature);
}

/** Aggregations, and the type of the parameter that comes before the vector (if any). */
const aggregations = new Map<string, PromqlType | undefined>([
  ...['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count'].map((op) => [op, undefined] as const),
  ...['topk', 'bottomk', 'quantile', 'limitk', 'limit_ratio'].map((op) => [op, 'scalar'] as const),
  ['count_values', 'string'],
]);
const experimentalAggregations = new Set(['limitk', 'limit_ratio']);

// Binding power, loosest first; `^` alone is right-associative. Unary +/- sit between * and ^, so
// -2^2 is -(2^2) but -a*b is (-a)*b.
const precedence = new Map(
  [['or'], ['and', 'unless'], ['==', '!=', '<', '<=', '>', '>='], ['+', '-'], ['*', '/', '%', 'atan2'], ['^']].flatMap((ops, level) =>
    ops.map((op) => [op, level + 1] as const),
  ),
);
const powerPrecedence = precedence.get('^')!;
const comparisons = new Set(['==', '!=', '<', '<=', '>', '>=']);
const setOperators = new Set(['and', 'or', 'unless']);
/** Keywords that can never name a metric (the documentation's list, plus atan2 which is an operator). */
const reserved = new Set(['bool', 'on', 'ignoring', 'group_left', 'group_right', 'atan2']);

const typeNames: Record<PromqlType, string> = { scalar: 'scalar', vector: 'instant vector', matrix: 'range vector', string: 'string' };

// ---------------------------------------------------------------------------------------------
// Lexer. Like Prometheus', it has modes: inside {...} only label names, strings and matching
// operators exist (and `:` ends no name); inside [...] only durations and `:`.

interface Token {
  kind: 'number' | 'string' | 'ident' | 'punct' | 'eof';
  text: string;
  pos: number;
  value: number | string;
}

const hexNumber = /0[xX]_?[\da-fA-F]+(?:_(?![eE])[\da-fA-F]+)*/y; // Prometheus reads _e as an exponent
const duration = /(?:\d+(?:ms|[smhdwy]))+/y;
const decimal = /(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+(?:_\d+)*)?/y;
const durationOrder = /^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;
const unitMs: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5, y: 31536e6 };
const maxDurationMs = 2 ** 63 / 1e6; // Prometheus keeps durations as int64 nanoseconds

function lexNumber(src: string, at: number): Token {
  for (const pattern of [hexNumber, duration, decimal]) {
    pattern.lastIndex = at;
    const text = pattern.exec(src)?.[0];
    if (!text || /[\w.]/.test(src[at + text.length] ?? '')) continue; // 5m is not 5 then m, nor 1.5h a duration
    if (pattern === duration) {
      if (!durationOrder.test(text))
        throw new PromqlError(`invalid duration '${text}' (units go from longest to shortest: y w d h m s ms, each once)`, at, src);
      const ms = [...text.matchAll(/(\d+)(ms|[smhdwy])/g)].reduce((sum, [, n, unit]) => sum + Number(n) * unitMs[unit!]!, 0);
      if (ms > maxDurationMs) throw new PromqlError(`duration out of range: '${text}'`, at, src);
      return { kind: 'number', text, pos: at, value: ms / 1000 };
    }
    const digits = text.replace(/_/g, '');
    // Go's ParseInt(s, 0, 64) reads a leading 0 as octal; 08 falls back to a float.
    const value = pattern === hexNumber ? parseInt(digits.slice(2), 16) : /^0[0-7]+$/.test(digits) ? parseInt(digits, 8) : Number(digits);
    if (value === Infinity || (pattern === hexNumber && BigInt(digits) >= 2n ** 63n))
      throw new PromqlError(`number out of range '${text}'`, at, src);
    return { kind: 'number', text, pos: at, value };
  }
  throw new PromqlError(`bad number or duration syntax '${/[\w.]+/y.exec(src.slice(at))?.[0] ?? ''}'`, at, src);
}

const escapes: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\' };

/** \NNN octal, \xNN, \uNNNN, \UNNNNNNNN: where the digits start, how many, their base, the largest value. */
function numericEscape(e: string, at: number): [start: number, count: number, base: number, max: number] | undefined {
  if (e >= '0' && e <= '7') return [at + 1, 3, 8, 0xff];
  const hex = { x: [2, 0xff], u: [4, 0x10ffff], U: [8, 0x10ffff] }[e as 'x'];
  return hex && [at + 2, hex[0]!, 16, hex[1]!];
}

/** A quoted string from `at`: its unescaped value and where it ends. Go's escapes, as PromQL's. */
function lexString(src: string, at: number): Token {
  const quote = src[at]!;
  if (quote === '`') {
    const end = src.indexOf('`', at + 1);
    if (end < 0) throw new PromqlError('unterminated string', at, src);
    return { kind: 'string', text: src.slice(at, end + 1), pos: at, value: src.slice(at + 1, end) };
  }
  let value = '';
  let i = at + 1;
  for (;;) {
    const c = src[i];
    if (c === undefined || c === '\n') throw new PromqlError('unterminated string', at, src);
    if (c === quote) return { kind: 'string', text: src.slice(at, i + 1), pos: at, value };
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    const e = src[i + 1] ?? '';
    if (escapes[e] !== undefined || e === quote) {
      value += escapes[e] ?? quote;
      i += 2;
      continue;
    }
    const numeric = numericEscape(e, i);
    if (!numeric) throw new PromqlError(`unknown escape sequence '\\${e}' in string`, i, src);
    const [start, count, base, max] = numeric;
    const digits = src.slice(start, start + count);
    const code = parseInt(digits, base);
    const valid = digits.length === count && (base === 8 ? /^[0-7]+$/ : /^[\da-fA-F]+$/).test(digits);
    if (!valid || code > max || (code >= 0xd800 && code < 0xe000))
      throw new PromqlError(`invalid escape sequence '${src.slice(i, start + count)}' in string`, i, src);
    value += String.fromCodePoint(code);
    i = start + count;
  }
}

/** Tokens on demand, so that an error is reported where the parser reaches it, in order. */
function* lex(src: string): Generator<Token, Token> {
  const punct = (text: string, pos: number): Token => ({ kind: 'punct', text, pos, value: text });
  let mode: 'expr' | 'braces' | 'brackets' = 'expr';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const two = src.slice(i, i + 2);
    let token: Token | undefined;
    if (' \t\n\r'.includes(c)) i++;
    else if (c === '#' && mode !== 'brackets') while (i < src.length && src[i] !== '\n' && src[i] !== '\r') i++;
    else if (/\d/.test(c) || (c === '.' && /\d/.test(src[i + 1] ?? ''))) {
      if (mode === 'braces') throw new PromqlError(`unexpected character '${c}' inside braces`, i, src);
      token = lexNumber(src, i);
    } else if (mode === 'brackets') {
      // Prometheus 3 also takes arithmetic here ([5m*2], [step()]); a breaker needs none of it.
      if ('+-*/%^()'.includes(c))
        throw new PromqlError('duration arithmetic is not supported here: write the duration out (e.g. [10m])', i, src);
      if (c !== ':' && c !== ']') throw new PromqlError(`unexpected character '${c}' in range, expected a duration such as 5m`, i, src);
      token = punct(c, i);
      if (c === ']') mode = 'expr';
    } else if (c === '"' || c === "'" || c === '`') {
      token = lexString(src, i);
    } else if (/[A-Za-z_]/.test(c) || (c === ':' && mode === 'expr')) {
      // Recording rules name metrics level:metric:operation; label names have no colons.
      const pattern = mode === 'braces' ? /[A-Za-z_]\w*/y : /[A-Za-z_:][\w:]*/y;
      pattern.lastIndex = i;
      const text = pattern.exec(src)![0];
      const lower = text.toLowerCase();
      const number = mode === 'expr' && (lower === 'inf' || lower === 'nan');
      token = { kind: number ? 'number' : 'ident', text, pos: i, value: number ? (lower === 'inf' ? Infinity : NaN) : text };
    } else if (mode === 'braces') {
      token = punct(['=~', '!~', '!='].includes(two) ? two : c, i);
      if (!['=', '=~', '!~', '!=', ',', '}'].includes(token.text))
        throw new PromqlError(`unexpected character '${c}' inside braces`, i, src);
      if (c === '}') mode = 'expr';
    } else {
      if (two === '=~' || two === '!~') throw new PromqlError(`'${two}' only matches labels inside {...}`, i, src);
      token = punct(['==', '!=', '<=', '>='].includes(two) ? two : c, i);
      if (token.text.length === 1 && !'()[]{},+-*/%^<>=@'.includes(c)) throw new PromqlError(`unexpected character '${c}'`, i, src);
      if (c === '{') mode = 'braces';
      if (c === '[') mode = 'brackets';
    }
    if (token) {
      i += token.text.length;
      yield token;
    }
  }
  return { kind: 'eof', text: '', pos: src.length, value: '' };
}

// ---------------------------------------------------------------------------------------------
// Regular expressions: Prometheus uses RE2, fully anchored. JavaScript's engine checks the
// syntax once RE2's inline flags and named groups are translated, and repeated anchors ($*, which
// RE2 allows) dropped; RE2 has no lookaround and no backreferences (\1; \12 is octal), which
// JavaScript would accept.

/** `pattern` where no backslash escapes it. */
const unescaped = (pattern: string) => new RegExp(String.raw`(?<=(?:^|[^\\])(?:\\\\)*)` + pattern, 'g');

function compileRe2(source: string): RegExp | string {
  if (unescaped(String.raw`\(\?<?[=!]`).test(source)) return 'RE2 has no lookahead or lookbehind';
  if (unescaped(String.raw`\\(?:[1-7](?![0-7])|[89])`).test(source)) return 'RE2 has no backreferences';
  let flags = '';
  const js = source
    .replace(unescaped(String.raw`\(\?P?<\w+>`), '(?:')
    .replace(unescaped(String.raw`\(\?([imsU]*)\)`), (_, f: string) => ((flags += f), ''))
    .replace(unescaped(String.raw`\(\?[imsU-]+:`), '(?:')
    .replace(unescaped(String.raw`(?<!\[)([$^])(?:[*+?]|\{\d+(?:,\d*)?\})+\??`), '$1');
  try {
    const jsFlags = [...new Set(flags.replace(/U/g, ''))].join('');
    new RegExp(js, jsFlags); // alone first: wrapped, a stray ')' in `a)(b` would pass
    return new RegExp(`^(?:${js})$`, jsFlags);
  } catch (error) {
    return (error as Error).message.split(': ').at(-1)!;
  }
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent, with precedence climbing (Pratt) for the binary operators.

interface BinaryModifiers {
  bool?: number;
  matching?: VectorMatching & { pos: number };
}

class Parser {
  private readonly tokens: Generator<Token, Token>;
  private current: Token;
  private depth = 0;

  constructor(
    private readonly src: string,
    private readonly options: PromqlOptions,
  ) {
    this.tokens = lex(src);
    this.current = this.tokens.next().value;
  }

  /** A method, not the field, so that TypeScript does not narrow the token across calls that move on. */
  private peek(): Token {
    return this.current;
  }

  private next(): Token {
    const token = this.current;
    if (token.kind !== 'eof') this.current = this.tokens.next().value;
    return token;
  }

  /** The current token is this punctuation, or this keyword (keywords are case-insensitive). */
  private is(text: string): boolean {
    const { kind, text: t } = this.peek();
    return (kind === 'punct' && t === text) || (kind === 'ident' && t.toLowerCase() === text);
  }

  private fail(reason: string, position: number): PromqlError {
    return new PromqlError(reason, position, this.src);
  }

  private unexpected(token: Token, expected?: string): PromqlError {
    const what =
      token.kind === 'eof'
        ? 'end of input'
        : token.kind === 'number' || token.kind === 'string'
          ? `${token.kind} ${token.text.slice(0, 40)}`
          : `'${token.text}'`;
    return this.fail(`unexpected ${what}${expected ? `, expected ${expected}` : ''}`, token.pos);
  }

  private expect(text: string, expected = `'${text}'`): Token {
    if (!this.is(text)) throw this.unexpected(this.peek(), expected);
    return this.next();
  }

  parse(): PromqlNode {
    if (this.peek().kind === 'eof') throw this.fail('empty query', 0);
    const node = this.expr();
    if (this.peek().kind !== 'eof') throw this.unexpected(this.peek(), this.is(')') ? undefined : 'an operator or the end of the query');
    return node;
  }

  /** An expression whose binary operators bind at least as tightly as `minPrec`. */
  expr(minPrec = 0): PromqlNode {
    // Every expression inside another is a level (parentheses, arguments, operands); the query is level 0.
    if (this.depth++ > promqlLimits.maxDepth)
      throw this.fail(`expression nested deeper than ${promqlLimits.maxDepth} levels`, this.peek().pos);
    let lhs = this.unary();
    for (;;) {
      const token = this.peek();
      const op = token.kind === 'punct' || token.kind === 'ident' ? token.text.toLowerCase() : '';
      const prec = precedence.get(op);
      if (prec === undefined || prec < minPrec) break;
      this.next();
      const modifiers = this.binaryModifiers();
      lhs = this.binary(op, token.pos, lhs, this.expr(op === '^' ? prec : prec + 1), modifiers);
    }
    this.depth--;
    return lhs;
  }

  private unary(): PromqlNode {
    const token = this.peek();
    if (!this.is('-') && !this.is('+')) return this.postfix(this.primary());
    this.next();
    const operand = this.expr(powerPrecedence);
    if (operand.type !== 'scalar' && operand.type !== 'vector')
      throw this.fail(`unary '${token.text}' needs a scalar or an instant vector, got ${typeNames[operand.type]}`, token.pos);
    const op = token.text as '-' | '+';
    if (operand.kind === 'number') return { ...operand, pos: token.pos, value: op === '-' ? -operand.value : operand.value };
    return { kind: 'unary', type: operand.type, pos: token.pos, op, expr: operand };
  }

  private primary(): PromqlNode {
    const token = this.next();
    if (token.kind === 'number') return { kind: 'number', type: 'scalar', pos: token.pos, value: token.value as number };
    if (token.kind === 'string') return { kind: 'string', type: 'string', pos: token.pos, value: token.value as string };
    if (token.text === '(' && token.kind === 'punct') {
      const expr = this.expr();
      if (this.peek().kind === 'eof') throw this.fail("unclosed '('", token.pos);
      this.expect(')');
      return { kind: 'paren', type: expr.type, pos: token.pos, expr };
    }
    if (token.text === '{' && token.kind === 'punct') return this.selector(token.pos);
    if (token.kind === 'ident') {
      const lower = token.text.toLowerCase();
      // Keywords are also valid metric names where nothing else could follow: `sum` alone is a metric.
      if (aggregations.has(lower) && (this.is('(') || this.is('by') || this.is('without'))) return this.aggregate(token, lower);
      if (this.is('(') && !token.text.includes(':')) return this.call(token);
      if (!reserved.has(lower)) return this.selector(token.pos, token.text);
    }
    throw this.unexpected(token, 'an expression');
  }

  /** Range [5m], subquery [5m:1m], offset and @: each binds to the selector just before it. */
  private postfix(node: PromqlNode): PromqlNode {
    for (;;) {
      const token = this.peek();
      if (this.is('[')) node = this.range(node);
      else if (this.is('offset') || this.is('@')) {
        this.next();
        if (node.kind !== 'selector' && node.kind !== 'subquery') {
          throw this.fail(`${token.text} must come right after a selector or a subquery (inside rate(...), say, not after it)`, token.pos);
        }
        const key = token.text === '@' ? 'at' : 'offset';
        const value = key === 'at' ? this.timestamp() : this.signedNumber('a duration such as 5m');
        if (key === 'offset' && !(Math.abs(value as number) * 1000 <= maxDurationMs)) throw this.fail('offset out of range', token.pos);
        if (node[key] !== undefined) throw this.fail(`${key === 'at' ? '@' : 'offset'} may not be set twice`, token.pos);
        node = { ...node, [key]: value };
      } else return node;
    }
  }

  private range(node: PromqlNode): PromqlNode {
    const open = this.next();
    const rangeMs = this.duration();
    if (this.is(':')) {
      this.next();
      const stepMs = this.is(']') ? undefined : this.duration();
      this.expect(']');
      if (node.type !== 'vector') throw this.fail(`subquery needs an instant vector, got ${typeNames[node.type]}`, open.pos);
      return { kind: 'subquery', type: 'matrix', pos: node.pos, expr: node, rangeMs, ...(stepMs === undefined ? {} : { stepMs }) };
    }
    this.expect(']', "':' or ']'");
    if (node.kind !== 'selector' || node.rangeMs !== undefined) {
      throw this.fail('a range [..] only applies to a vector selector (for an expression, use a subquery such as [5m:1m])', open.pos);
    }
    if (node.offset !== undefined) throw this.fail('offset must come after the range (foo[5m] offset 1h)', open.pos);
    if (node.at !== undefined) throw this.fail('@ must come after the range (foo[5m] @ end())', open.pos);
    return { ...node, type: 'matrix', rangeMs };
  }

  /** A duration inside [...] in milliseconds: 5m, 1h30m, or plain seconds. */
  private duration(): number {
    const token = this.next();
    if (token.kind !== 'number') throw this.unexpected(token, 'a duration such as 5m');
    const ms = (token.value as number) * 1000;
    if (!(ms > 0)) throw this.fail('duration must be greater than 0', token.pos);
    if (ms > maxDurationMs) throw this.fail('duration out of range', token.pos);
    return ms;
  }

  private signedNumber(expected: string): number {
    const sign = this.is('-') ? -1 : 1;
    if (this.is('-') || this.is('+')) this.next();
    const token = this.next();
    if (token.kind !== 'number') throw this.unexpected(token, expected);
    return sign * (token.value as number);
  }

  private timestamp(): number | 'start' | 'end' {
    const token = this.peek();
    if (this.is('start') || this.is('end')) {
      this.next();
      this.expect('(');
      this.expect(')');
      return token.text.toLowerCase() as 'start' | 'end';
    }
    const value = this.signedNumber('a Unix timestamp, start() or end()');
    if (!Number.isFinite(value)) throw this.fail('timestamp out of bounds for @', token.pos);
    return value;
  }

  /** `name`, `name{...}` or `{...}`; the opening brace, if any, is next (or was just read, for `{...}`). */
  private selector(pos: number, name?: string): PromqlNode {
    const matchers: Matcher[] = [];
    let selective = name !== undefined;
    if (name === undefined || this.is('{')) {
      if (name !== undefined) this.next();
      while (!this.is('}')) {
        const label = this.next();
        if (label.kind !== 'ident' && label.kind !== 'string') throw this.unexpected(label, "a label name or '}'");
        if (label.kind === 'string' && (this.is(',') || this.is('}'))) {
          // {"metric.name"}: a quoted metric name, as UTF-8 names are written.
          matchers.push({ name: '__name__', op: '=', value: label.value as string });
          selective ||= label.value !== '';
        } else {
          const op = this.next();
          if (op.kind !== 'punct' || !['=', '!=', '=~', '!~'].includes(op.text)) throw this.unexpected(op, 'one of =, !=, =~, !~');
          const value = this.next();
          if (value.kind !== 'string') throw this.unexpected(value, 'a quoted string');
          const matcher: Matcher = { name: label.value as string, op: op.text as Matcher['op'], value: value.value as string };
          const empty = this.matchesEmpty(matcher, value.pos); // checks the regex, so always called
          selective ||= !empty;
          matchers.push(matcher);
        }
        if (!this.is('}')) this.expect(',', "',' or '}'");
      }
      this.next();
    }
    if (name !== undefined && matchers.some((m) => m.name === '__name__'))
      throw this.fail(`metric name set twice: '${name}' and __name__`, pos);
    // {job=~".*"} would select every series Prometheus has.
    if (!selective)
      throw this.fail(
        'vector selector needs a metric name or a matcher that does not match the empty string (e.g. job="x" or job=~".+")',
        pos,
      );
    return { kind: 'selector', type: 'vector', pos, ...(name === undefined ? {} : { name }), matchers };
  }

  private matchesEmpty(matcher: Matcher, pos: number): boolean {
    if (matcher.op === '=' || matcher.op === '!=') return (matcher.value === '') === (matcher.op === '=');
    const re = compileRe2(matcher.value);
    if (typeof re === 'string') throw this.fail(`invalid regular expression ${JSON.stringify(matcher.value)}: ${re}`, pos);
    return re.test('') === (matcher.op === '=~');
  }

  /** `(a, b, "c")`, a trailing comma allowed. */
  private labels(): string[] {
    this.expect('(');
    const labels: string[] = [];
    while (!this.is(')')) {
      const label = this.next();
      if (label.kind !== 'ident' && (label.kind !== 'string' || label.value === '')) throw this.unexpected(label, "a label name or ')'");
      labels.push(label.value as string);
      if (!this.is(')')) this.expect(',', "',' or ')'");
    }
    this.next();
    return labels;
  }

  private args(what: string): { args: PromqlNode[]; close: number } {
    this.expect('(');
    const args: PromqlNode[] = [];
    while (!this.is(')')) {
      args.push(this.expr());
      if (this.is(')')) break;
      const comma = this.expect(',', "',' or ')'");
      if (this.is(')')) throw this.fail(`trailing comma in ${what}`, comma.pos);
    }
    return { args, close: this.next().pos };
  }

  private call(token: Token): PromqlNode {
    const name = token.text;
    const fn = functions.get(name);
    if (!fn) throw this.fail(`unknown function '${name}'${suggestion(name)}`, token.pos);
    if (fn.experimental && !this.options.experimental) throw this.fail(`${name}() is experimental (${experimentalNote})`, token.pos);
    const { args, close } = this.args(`call to ${name}()`);
    const min = fn.args.filter((a) => !a.optional && !a.rest).length;
    const max = fn.args.some((a) => a.rest) ? Infinity : fn.args.length;
    if (args.length < min || args.length > max) {
      const expected = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw this.fail(
        `${name}() takes ${expected} argument${expected === '1' ? '' : 's'}, got ${args.length}`,
        args.length > max ? args[max]!.pos : close,
      );
    }
    args.forEach((arg, k) => {
      const want = fn.args[Math.min(k, fn.args.length - 1)]!.type;
      const where = fn.args.length > 1 ? ` as argument ${k + 1}` : '';
      if (arg.type !== want)
        throw this.fail(
          `${typeNames[want]} expected in call to ${name}()${where}, got ${typeNames[arg.type]}${hint(want, arg.type)}`,
          arg.pos,
        );
    });
    return { kind: 'call', type: fn.returns, pos: token.pos, name, args };
  }

  private grouping(): { without: boolean; labels: string[] } | undefined {
    if (!this.is('by') && !this.is('without')) return undefined;
    const without = this.next().text.toLowerCase() === 'without';
    return { without, labels: this.labels() };
  }

  /** sum by (a) (x), sum (x) by (a), topk(5, x) ... */
  private aggregate(token: Token, op: string): PromqlNode {
    if (experimentalAggregations.has(op) && !this.options.experimental)
      throw this.fail(`${op}() is experimental (${experimentalNote})`, token.pos);
    let grouping = this.grouping();
    const { args, close } = this.args(`${op}()`);
    grouping ??= this.grouping();
    const paramType = aggregations.get(op);
    const wanted = paramType ? 2 : 1;
    if (args.length !== wanted) {
      const shape = paramType ? `a ${typeNames[paramType]} parameter and an instant vector` : 'one instant vector';
      throw this.fail(
        `${op}() takes ${shape}, got ${args.length} argument${args.length === 1 ? '' : 's'}`,
        args.length > wanted ? args[wanted]!.pos : close,
      );
    }
    const param = paramType ? args[0]! : undefined;
    const expr = args[wanted - 1]!;
    if (param && param.type !== paramType)
      throw this.fail(`${typeNames[paramType!]} expected as the parameter of ${op}(), got ${typeNames[param.type]}`, param.pos);
    if (expr.type !== 'vector')
      throw this.fail(`instant vector expected in ${op}(), got ${typeNames[expr.type]}${hint('vector', expr.type)}`, expr.pos);
    return { kind: 'aggregate', type: 'vector', pos: token.pos, op, ...(param ? { param } : {}), expr, ...(grouping ? { grouping } : {}) };
  }

  /** [bool] [on|ignoring (labels) [group_left|group_right [(labels)]]], in that order. */
  private binaryModifiers(): BinaryModifiers {
    const modifiers: BinaryModifiers = {};
    if (this.is('bool')) modifiers.bool = this.next().pos;
    if (this.is('on') || this.is('ignoring')) {
      const keyword = this.next();
      modifiers.matching = { on: keyword.text.toLowerCase() === 'on', labels: this.labels(), include: [], pos: keyword.pos };
    }
    if (this.is('group_left') || this.is('group_right')) {
      const keyword = this.next();
      if (!modifiers.matching) throw this.fail(`${keyword.text} needs on(...) or ignoring(...) before it`, keyword.pos);
      modifiers.matching.group = keyword.text.toLowerCase() === 'group_left' ? 'left' : 'right';
      // As in Prometheus, a parenthesis right after group_x is its label list, never the operand.
      if (this.is('(')) modifiers.matching.include = this.labels();
    }
    return modifiers;
  }

  private binary(op: string, pos: number, lhs: PromqlNode, rhs: PromqlNode, modifiers: BinaryModifiers): PromqlNode {
    for (const side of [lhs, rhs]) {
      if (side.type !== 'scalar' && side.type !== 'vector')
        throw this.fail(
          `'${op}' needs scalar or instant vector operands, got ${typeNames[side.type]}${hint('vector', side.type)}`,
          side.pos,
        );
    }
    const scalarSide = lhs.type === 'scalar' || rhs.type === 'scalar';
    const { bool, matching } = modifiers;
    if (bool !== undefined && !comparisons.has(op))
      throw this.fail('bool only applies to comparison operators (==, !=, <, <=, >, >=)', bool);
    if (comparisons.has(op) && bool === undefined && lhs.type === 'scalar' && rhs.type === 'scalar') {
      throw this.fail(`comparison between two scalars needs bool (e.g. 1 ${op} bool 0)`, pos);
    }
    if (setOperators.has(op) && scalarSide) throw this.fail(`'${op}' only applies between instant vectors, not scalars`, pos);
    if (matching && scalarSide && matching.labels.length > 0)
      throw this.fail('vector matching (on/ignoring) only applies between instant vectors', matching.pos);
    if (matching?.group && setOperators.has(op))
      throw this.fail(`no group_left/group_right allowed with '${op}' (set operators are many-to-many)`, matching.pos);
    const twice = matching?.on ? matching.include.find((label) => matching.labels.includes(label)) : undefined;
    if (twice !== undefined)
      throw this.fail(`label '${twice}' must not be in both on(...) and group_${matching!.group}(...)`, matching!.pos);
    const node: PromqlNode = {
      kind: 'binary',
      type: scalarSide && lhs.type === rhs.type ? 'scalar' : 'vector',
      pos,
      op,
      lhs,
      rhs,
      bool: bool !== undefined,
    };
    if (matching)
      node.matching = {
        on: matching.on,
        labels: matching.labels,
        include: matching.include,
        ...(matching.group ? { group: matching.group } : {}),
      };
    return node;
  }
}

const experimentalNote = 'Prometheus accepts it only with --enable-feature=promql-experimental-functions';

function hint(want: PromqlType, got: PromqlType): string {
  if (want === 'matrix' && got === 'vector') return ' (add a range such as [5m])';
  if (want === 'vector' && got === 'matrix') return ' (apply a function such as rate() or avg_over_time() to it first)';
  return '';
}

/** "did you mean": the closest known function, one edit away for short names, two for longer ones. */
function suggestion(typed: string): string {
  const name = typed.toLowerCase();
  let best: [number, string] = [name.length > 4 ? 2.5 : 1.5, ''];
  for (const candidate of functions.keys()) {
    const row = Array.from({ length: candidate.length + 1 }, (_, j) => j);
    for (let a = 1; a <= name.length; a++) {
      let diagonal = row[0]!;
      row[0] = a;
      for (let b = 1; b <= candidate.length; b++) {
        const above = row[b]!;
        row[b] = Math.min(above + 1, row[b - 1]! + 1, diagonal + (name[a - 1] === candidate[b - 1] ? 0 : 1));
        diagonal = above;
      }
    }
    const score = row[candidate.length]! - (candidate.startsWith(name) ? 0.5 : 0); // rat: rate, not rad
    if (score < best[0]) best = [score, candidate];
  }
  return best[1] ? ` (did you mean '${best[1]}'?)` : '';
}

// ---------------------------------------------------------------------------------------------
// API

/** The syntax tree of `query`, or a PromqlError with the position and reason it is refused. */
export function parsePromql(query: string, options: PromqlOptions = {}): PromqlNode {
  if (query.length > promqlLimits.maxLength)
    throw new PromqlError(`query longer than ${promqlLimits.maxLength} characters (${query.length})`, promqlLimits.maxLength, query);
  return new Parser(query, options).parse();
}

/** Whether Prometheus would accept `query`; if it does, its result type and largest window. */
export function validatePromql(query: string, options: PromqlOptions = {}): PromqlValidation {
  try {
    const node = parsePromql(query, options);
    return { ok: true, type: node.type, maxRangeMs: largestWindow(node) };
  } catch (error) {
    if (error instanceof PromqlError) return { ok: false, error: error.message, position: error.position };
    throw error;
  }
}

/** The largest range or subquery window in `query`, in milliseconds (0 if none); throws PromqlError if invalid. */
export function promqlRangeBound(query: string, options: PromqlOptions = {}): number {
  return largestWindow(parsePromql(query, options));
}

function largestWindow(node: PromqlNode): number {
  const own = node.kind === 'selector' || node.kind === 'subquery' ? (node.rangeMs ?? 0) : 0;
  return Math.max(own, ...children(node).map(largestWindow));
}

export function children(node: PromqlNode): PromqlNode[] {
  switch (node.kind) {
    case 'subquery':
    case 'unary':
    case 'paren':
      return [node.expr];
    case 'call':
      return node.args;
    case 'aggregate':
      return node.param ? [node.param, node.expr] : [node.expr];
    case 'binary':
      return [node.lhs, node.rhs];
    default:
      return [];
  }
}
