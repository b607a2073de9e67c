// Small HTTP helpers shared by the simulators (no framework: node:http is enough and keeps the
// wire exactly what we write).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** A REST answer other than a 200: thrown by a handler, sent as JSON by the exchange. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

/** A handler's answer with a status other than 200 (a handler's plain return value is sent as 200). */
export class JsonReply {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

export function readBody(req: IncomingMessage, limit = 1_000_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A body parsed as JSON; `notJson` is what is thrown when it is not. */
export function parseJson(text: string, notJson: Error): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw notJson;
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes a complete HTTP response on a raw socket (used to refuse a WebSocket upgrade). */
export function refuseUpgrade(socket: import('node:stream').Duplex, status: number, reason: string, body: unknown): void {
  const text = JSON.stringify(body);
  const head = [
    `HTTP/1.1 ${status} ${reason}`,
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(text)}`,
    'Connection: close',
  ];
  // Node's HTTP server leaves an upgrade's socket with no error listener: a client that resets it
  // (ECONNRESET) would otherwise throw out of the simulator.
  socket.on('error', () => socket.destroy());
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
}

export function splitUrl(req: IncomingMessage): { path: string; query: URLSearchParams } {
  const url = new URL(req.url ?? '/', 'http://sim.invalid');
  return { path: url.pathname, query: url.searchParams };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Token bucket: `rate` tokens per second, at most `capacity` stored. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();

  constructor(
    readonly rate: number,
    readonly capacity: number,
  ) {
    this.tokens = capacity;
  }

  take(cost: number): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < cost) return false;
    this.tokens -= cost;
    return true;
  }
}
