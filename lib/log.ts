// Structured JSON logs (pino) with secrets redacted by path, so a credential handed to a logger
// by mistake is never written out.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

const secretKeys = [
  'password',
  'secret',
  'token',
  'apiKey',
  'apiSecret',
  'passphrase',
  'privateKey',
  'authorization',
  'cookie',
  'KALSHI-ACCESS-SIGNATURE',
  'POLY_SIGNATURE',
  'POLY_API_KEY',
  'POLY_PASSPHRASE',
  'WIREGUARD_PRIVATE_KEY',
  'OPENVPN_PASSWORD',
];

/** Paths pino censors: each secret key at the top level and up to three levels deep. */
export const redactedPaths: string[] = secretKeys.flatMap((key) => {
  const k = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
  const join = (prefix: string) => (k.startsWith('[') ? `${prefix}${k}` : `${prefix}.${k}`);
  return [k.startsWith('[') ? k : key, join('*'), join('*.*'), join('*.*.*')];
});

/** Replaces the password in a connection URL, for logging where a service is. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '[Redacted]';
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
    redact: { paths: redactedPaths, censor: '[Redacted]' },
    base: { pid: process.pid, ...options.bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return destination ? pino(loggerOptions, destination) : pino(loggerOptions);
}
