// Structured JSON logs (pino) that never write a secret: every logged object is walked (any depth,
// any key case) and values under secret-looking keys are censored; every string, the message
// included, has connection-URL passwords, secret query parameters, bearer tokens and PEM keys
// scrubbed. A credential handed to a logger by mistake, or carried inside an error message, is
// never written out.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const CENSOR = '[Redacted]';

/** Key names (lower case, without "-", "_" and spaces) whose values are always secret. */
const secretKeys = new Set(['authorization', 'proxyauthorization', 'cookie', 'setcookie', 'dsn', 'credentials', 'openvpnuser']);
/** Endings of such names: `apiSecret`, `X-API-Key`, `KALSHI-ACCESS-SIGNATURE`, `WIREGUARD_PRESHARED_KEY`… */
const secretEndings = ['password', 'passwd', 'secret', 'token', 'apikey', 'passphrase', 'privatekey', 'presharedkey', 'signature'];
/** Connection strings carry their password: `redisUrl`, `postgresUrl`, `DATABASE_URL`, `connectionString`. */
const connectionKey = /^(redis|postgres|postgresql|pg|database|db|connection)(url|uri|string|dsn)?$/;

export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase().replace(/[-_\s]/g, '');
  return secretKeys.has(k) || secretEndings.some((end) => k.endsWith(end)) || connectionKey.test(k);
}

const scrubbers: Array<[RegExp, string]> = [
  // user:password@ in any URL (redis://:pw@h, postgres://u:pw@h, https://u:pw@h).
  [/([a-z][a-z0-9+.-]*:\/\/[^\s/:@"']*):[^\s@/"']+@/gi, `$1:${CENSOR}@`],
  // Secret query parameters.
  [/([?&;](?:password|passwd|pass|pwd|secret|token|access_token|api_key|apikey|key|sig|signature|auth)=)[^&#\s"']+/gi, `$1${CENSOR}`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/g, `$1 ${CENSOR}`],
  [/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, CENSOR],
];

/** A string with every secret the scrubbers know removed. */
export function scrubText(text: string): string {
  let out = text;
  for (const [pattern, replacement] of scrubbers) out = out.replace(pattern, replacement);
  return out;
}

/** A copy of `value` fit to log: secrets censored at any depth, errors as plain objects. */
export function redactDeep(value: unknown, seen = new WeakSet<object>(), depth = 0): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value)) return '[Circular]';
  if (depth > 12) return '[Too deep]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, seen, depth + 1));
  if (value instanceof Date) return value.toISOString();
  if (value instanceof URL) return scrubText(value.href);
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return `[binary ${value.byteLength} bytes]`;
  if (value instanceof Map) return redactDeep(Object.fromEntries(value), seen, depth + 1);
  if (value instanceof Set) return redactDeep([...value], seen, depth + 1);
  const source: Record<string, unknown> =
    value instanceof Error
      ? { type: value.name, message: value.message, stack: value.stack, ...(value as unknown as Record<string, unknown>) }
      : (value as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(source))
    out[key] = isSecretKey(key) && v !== undefined && v !== null && v !== '' ? CENSOR : redactDeep(v, seen, depth + 1);
  return out;
}

/** The URL with its password censored, for logging where a service is. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = CENSOR;
    for (const key of [...parsed.searchParams.keys()]) if (isSecretKey(key)) parsed.searchParams.set(key, CENSOR);
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}

export function createLogger(
  options: { name: string; level?: string; bindings?: Record<string, unknown> },
  destination?: DestinationStream,
): Logger {
  const loggerOptions: LoggerOptions = {
    name: options.name,
    level: options.level ?? 'info',
    base: { pid: process.pid, ...(redactDeep(options.bindings ?? {}) as Record<string, unknown>) },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Errors arrive already turned into plain objects by redactDeep.
    serializers: { err: (error: unknown) => error },
    formatters: {
      level: (label) => ({ level: label }),
    },
    hooks: {
      // Every argument of every call, before pino sees it: the object, the message and any interpolation values.
      logMethod(args, method) {
        method.apply(this, args.map((arg) => redactDeep(arg)) as Parameters<typeof method>);
      },
    },
  };
  return redactingChildren(destination ? pino(loggerOptions, destination) : pino(loggerOptions));
}

/** Child loggers' bindings are written as given, so they pass through redactDeep first. */
function redactingChildren(logger: Logger): Logger {
  const child = logger.child.bind(logger);
  logger.child = ((bindings: pino.Bindings, options?: pino.ChildLoggerOptions) =>
    redactingChildren(child(redactDeep(bindings) as pino.Bindings, options))) as unknown as Logger['child'];
  return logger;
}
