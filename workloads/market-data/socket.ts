// A venue WebSocket that stays connected: connect (headers re-made on every attempt, so signatures
// are fresh), hand frames to the monitor, detect a dead peer by silence, send keepalives, and on
// any drop reconnect after a jittered exponential backoff. A refused handshake (401, 403 …) is
// reported with the venue's status and body so the monitor can say what is wrong, and can ask for
// a longer pause than the backoff (auth failures must not become a hot loop). Not pure: the
// protocol logic lives in the feeds, which this class only carries bytes for.
import type { Logger } from 'pino';
import WebSocket from 'ws';
import type { Backoff } from './backoff.js';

/** What we may have queued for a venue that does not read (our commands are a few hundred bytes). */
const MAX_BUFFERED_BYTES = 1 << 20;
/** How much of a refused handshake's body is kept. */
const MAX_REFUSAL_BODY = 4_096;

export interface Refusal {
  status: number;
  body: string;
}

export interface ReconnectingSocketOptions {
  url: string;
  backoff: Backoff;
  /** Handshake headers, made anew for every attempt. */
  headers?: () => Record<string, string>;
  /** Checked before every attempt; false → wait `gateRetryMs` and check again (e.g. VPN down). */
  gate?: () => boolean | Promise<boolean>;
  gateRetryMs?: number;
  /** Close a connection that has received nothing (data, ping or pong) for this long. */
  silenceMs: number;
  /** A text frame sent every `intervalMs` (Polymarket's "PING"). */
  keepalive?: { intervalMs: number; text: string };
  handshakeTimeoutMs?: number;
  /** The largest frame accepted, bytes (after decompression); larger ones drop the connection. */
  maxPayload: number;
  /** A frame above maxPayload was refused (the connection is dropped at once, unread). */
  onOversized?(): void;
  /** Checks a text frame's bytes before they are decoded; false drops it (the caller reports why). */
  screen?(data: Buffer, receivedMs: number): boolean;
  onOpen(ws: WebSocket): void;
  onMessage(text: string, receivedMs: number): void;
  /** The connection (if it opened) is gone; `wasOpen` false means the attempt failed. */
  onDown(info: { wasOpen: boolean; reason: string }): void;
  /** A handshake the server refused; return the minimum pause before the next attempt. */
  onRefused?(refusal: Refusal): number | void;
  /** A connection attempt after the first. */
  onReconnect?(): void;
  log?: Logger;
}

export class ReconnectingSocket {
  private running = false;
  private ws: WebSocket | undefined;
  private wakeUp: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private attempts = 0;
  /** True while a socket is open. */
  open = false;

  constructor(private readonly options: ReconnectingSocketOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Closes the current connection (normal close); the loop reconnects after the backoff. */
  reconnect(reason: string): void {
    this.options.log?.warn({ reason }, 'closing the venue connection to reconnect');
    this.ws?.terminate();
  }

  /** Sends a text frame if connected; false when not. */
  send(text: string): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.reconnect(`the venue is not reading: ${this.ws.bufferedAmount} bytes queued`);
      return false;
    }
    this.ws.send(text);
    return true;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.close(1000, 'shutting down');
      const timer = setTimeout(() => ws.terminate(), 1_000);
      await new Promise<void>((resolve) => ws.once('close', () => resolve()));
      clearTimeout(timer);
    } else ws?.terminate();
    await this.loopDone;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      if (this.options.gate && !(await this.options.gate())) {
        await this.sleep(this.options.gateRetryMs ?? 1_000);
        continue;
      }
      if (!this.running) break;
      if (this.attempts++ > 0) this.options.onReconnect?.();
      const minPauseMs = await this.connectOnce();
      if (!this.running) break;
      const delay = Math.max(this.options.backoff.next(), minPauseMs);
      this.options.log?.info({ delayMs: delay, attempt: this.options.backoff.attempts }, 'reconnecting after backoff');
      await this.sleep(delay);
    }
  }

  /** One connection's life; resolves when it is over with the minimum pause asked for. */
  private connectOnce(): Promise<number> {
    return new Promise((resolve) => {
      let settled = false;
      let wasOpen = false;
      let minPause = 0;
      let reason = 'closed';
      let lastRx = Date.now();
      const timers: NodeJS.Timeout[] = [];
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.options.url, {
          headers: this.options.headers?.(),
          handshakeTimeout: this.options.handshakeTimeoutMs ?? 10_000,
          maxPayload: this.options.maxPayload,
        });
      } catch (error) {
        this.options.onDown({ wasOpen: false, reason: (error as Error).message });
        resolve(0);
        return;
      }
      this.ws = ws;
      const finish = () => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearInterval(t);
        this.open = false;
        if (this.ws === ws) this.ws = undefined;
        this.options.onDown({ wasOpen, reason });
        resolve(minPause);
      };
      ws.on('error', (error: Error & { code?: string }) => {
        reason = error.message;
        if (error.code !== 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') return;
        this.options.onOversized?.();
        // `ws` would close gracefully, reading and discarding the rest of the frame meanwhile: not a byte more.
        ws.terminate();
      });
      ws.on('unexpected-response', (req, res) => {
        let body = '';
        let done = false;
        const refused = () => {
          if (done) return;
          done = true;
          reason = `handshake refused: HTTP ${res.statusCode ?? 0}`;
          const pause = this.options.onRefused?.({ status: res.statusCode ?? 0, body: body.slice(0, MAX_REFUSAL_BODY) });
          if (typeof pause === 'number') minPause = pause;
          req.destroy();
          finish();
        };
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk.slice(0, MAX_REFUSAL_BODY - body.length);
          if (body.length >= MAX_REFUSAL_BODY) refused(); // enough to say why; the rest is not read
        });
        res.on('end', refused);
        res.on('error', () => finish());
      });
      ws.on('open', () => {
        wasOpen = true;
        this.open = true;
        lastRx = Date.now();
        const silenceMs = this.options.silenceMs;
        timers.push(
          setInterval(
            () => {
              if (Date.now() - lastRx > silenceMs) {
                reason = `no frames for ${silenceMs} ms`;
                this.options.log?.warn({ silenceMs }, 'venue connection silent; dropping it');
                ws.terminate();
              }
            },
            Math.max(50, Math.min(1_000, silenceMs / 4)),
          ),
        );
        const keepalive = this.options.keepalive;
        if (keepalive) timers.push(setInterval(() => ws.readyState === WebSocket.OPEN && ws.send(keepalive.text), keepalive.intervalMs));
        this.options.onOpen(ws);
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        lastRx = Date.now();
        if (isBinary || (this.options.screen && !this.options.screen(data, lastRx))) return;
        this.options.onMessage(data.toString('utf8'), lastRx);
      });
      ws.on('ping', () => (lastRx = Date.now()));
      ws.on('pong', () => (lastRx = Date.now()));
      ws.on('close', (code: number, why: Buffer) => {
        if (wasOpen) reason = `closed (${code}${why.length ? ` ${why.toString()}` : ''})`;
        finish();
      });
    });
  }
}
