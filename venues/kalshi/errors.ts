// Kalshi's error bodies, in every shape the venue sends (docs/venue-conformance.md, error body):
// nested `{"error": {"code", "message", "details", "service"}}` for order, auth and exchange
// errors; flat `{"code", "message", "details"}` for a body that is not JSON; bare `{"msg"}` for a
// bad query parameter; `{"error": "too many requests"}` for 429. Codes may embed ids
// (`user_not_found:_<uuid>`), so callers match on prefixes.

export interface KalshiError {
  code: string;
  message: string;
  details: string;
}

const text = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : '';

/** The code, message and details of an error body ('' where absent). */
export function kalshiError(body: unknown): KalshiError {
  if (!body || typeof body !== 'object') return { code: '', message: text(body), details: '' };
  const b = body as Record<string, unknown>;
  const inner = b.error && typeof b.error === 'object' ? (b.error as Record<string, unknown>) : b;
  const message = text(inner.message) || text(b.msg) || (typeof b.error === 'string' ? b.error : '');
  return { code: text(inner.code), message, details: text(inner.details) };
}

/** One line for logs and the ledger: "code: message (details)". */
export function kalshiErrorText(body: unknown): string {
  const { code, message, details } = kalshiError(body);
  const head = [code, message].filter(Boolean).join(': ');
  return details ? `${head} (${details})` : head || JSON.stringify(body ?? '').slice(0, 200);
}

/** The account cannot pay for the order (Kalshi's 400 for an order beyond the available balance). */
export const isInsufficientBalance = (body: unknown): boolean => /^insufficient_(balance|funds)/.test(kalshiError(body).code);
