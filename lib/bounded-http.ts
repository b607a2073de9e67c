// Reading a venue's HTTP answer with a size bound, shared by every client that talks to a venue
// (orders, market terms, settlement, discovery, the VPN probe). A hostile or broken endpoint must
// not fill our memory: a declared Content-Length above the bound is refused before anything is
// read, and a body without one (chunked) is read only until it passes the bound, then cancelled.
//
// Redirects are never followed either: a venue request may carry signed auth headers, and a
// redirect would hand them (or an unauthenticated retry) to whatever host it names. With fetch that
// is `redirect: 'error'` (NO_REDIRECT); undici's `request` never follows one, and its caller treats a
// 3xx answer as refused (isRedirect). Each caller handles a refused answer as it handles a request
// that failed (for an order: its outcome is unknown, and reconciliation finds out).

/** The fetch option that refuses a redirect: fetch fails instead of following it. */
export const NO_REDIRECT = { redirect: 'error' } as const satisfies RequestInit;

/** An answer we would not read (too large, or a redirect). */
export class AnswerRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnswerRefused';
  }
}

/** A 3xx status: a redirect (or something like one) that is never followed. */
export function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

function refuseDeclared(declared: string | string[] | null | undefined, maxBytes: number): void {
  const value = Array.isArray(declared) ? declared[0] : declared;
  const length = Number(value ?? 0);
  if (length > maxBytes) throw new AnswerRefused(`answer of ${length} bytes (at most ${maxBytes} read)`);
}

/** A fetch answer's body as text, refusing (and no longer reading) one above `maxBytes`. */
export async function readBounded(
  res: { headers: { get(name: string): string | null }; body: ReadableStream<Uint8Array> | null },
  maxBytes: number,
): Promise<string> {
  try {
    refuseDeclared(res.headers.get('content-length'), maxBytes);
  } catch (error) {
    await res.body?.cancel().catch(() => undefined);
    throw error;
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new AnswerRefused(`answer over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The same for undici's `request` (a Node stream body and a header record). */
export async function readBoundedStream(
  res: {
    headers: Record<string, string | string[] | undefined>;
    body: StreamBody;
  },
  maxBytes: number,
): Promise<string> {
  try {
    refuseDeclared(res.headers['content-length'], maxBytes);
  } catch (error) {
    discard(res.body);
    throw error;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      discard(res.body);
      throw new AnswerRefused(`answer over ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type StreamBody = AsyncIterable<Uint8Array> & { destroy(error?: Error): unknown; on(event: 'error', listener: () => void): unknown };

/** Stops reading an undici body (its abort is expected, not an error anyone must hear of). */
export function discard(body: StreamBody): void {
  body.on('error', () => undefined);
  body.destroy();
}

/** A fetch failure's text with its cause (undici says only "fetch failed"; the cause says why, e.g. "unexpected redirect"). */
export function fetchErrorText(error: unknown): string {
  const e = error as Error & { cause?: unknown };
  const cause = e?.cause instanceof Error ? e.cause.message : undefined;
  return cause && cause !== e.message ? `${e.message} (${cause})` : String(e?.message ?? error);
}
