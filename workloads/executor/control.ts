// The shard's control state: the key arbees:<shard>:control, written by the operator's
// breaker with a TTL and published on the channel of the same name when it changes. The executor
// reads the key before risk-increasing orders and also listens on the channel; trading is allowed
// only when the key reads closed (or half_open, capped), the listener is subscribed, and the last
// message heard does not say open. A missing key, an unparsable value, a failed read or a lost
// subscription all mean: do not trade.
//
// A read is reused for at most `maxAgeMs` (default 100 ms), so a burst of signals costs one round
// trip to Redis, not one each. Any message on the channel drops the reused read, so a change of
// state is seen at once; only a key that expires silently (the operator gone) is noticed up to
// `maxAgeMs` late, against a TTL of seconds.
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { controlSchema, streamKeys, type ControlState } from '../../contracts/messages.js';

export function parseControl(text: string | null | undefined): ControlState | undefined {
  if (text === null || text === undefined) return undefined;
  try {
    const parsed = controlSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export class ControlGate {
  private readonly reader: Redis;
  private readonly subscriber: Redis;
  private subscribed = false;
  /** The last state heard on the channel (undefined: nothing heard, or unparsable). */
  private heard: ControlState | undefined;
  private heardBad = false;
  private listeners: Array<(state: ControlState | undefined) => void> = [];
  /** The last successful read of the key and when it was made (performance.now()). */
  private lastRead: { state: ControlState; at: number } | undefined;
  readonly key: string;

  constructor(
    redisUrl: string,
    shard: string,
    private readonly log?: Logger,
    readTimeoutMs = 250,
    private readonly maxAgeMs = 100,
  ) {
    this.key = streamKeys.control(shard);
    // No offline queue and a short timeout: an unreachable Redis answers "no" at once.
    this.reader = new Redis(redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: readTimeoutMs,
      lazyConnect: true,
    });
    this.subscriber = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
    this.reader.on('error', () => undefined);
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('close', () => {
      this.subscribed = false;
      this.lastRead = undefined;
    });
    this.subscriber.on('ready', () => {
      // ioredis resubscribes on reconnect; count us subscribed once it confirms.
      this.subscriber.subscribe(this.key).then(
        () => (this.subscribed = true),
        () => (this.subscribed = false),
      );
    });
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.key) return;
      this.lastRead = undefined;
      this.heard = parseControl(message);
      this.heardBad = this.heard === undefined;
      if (this.heard?.state === 'open') this.log?.warn({ reason: this.heard.reason }, 'circuit breaker opened: no new orders');
      for (const listener of this.listeners) listener(this.heard);
    });
  }

  async start(): Promise<void> {
    await Promise.all([this.reader.connect().catch(() => undefined), this.subscriber.connect().catch(() => undefined)]);
    const deadline = Date.now() + 2_000;
    while (!this.subscribed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  }

  onChange(listener: (state: ControlState | undefined) => void): void {
    this.listeners.push(listener);
  }

  get listening(): boolean {
    return this.subscribed;
  }

  /**
   * The control state to decide one order on, read now. Undefined (do not trade) when the key is
   * missing or unparsable, Redis cannot be read, or the channel is not being heard.
   */
  async current(): Promise<ControlState | undefined> {
    if (!this.subscribed) return undefined;
    let state: ControlState | undefined;
    const now = performance.now();
    if (this.lastRead && now - this.lastRead.at <= this.maxAgeMs) state = this.lastRead.state;
    else {
      let value: string | null;
      try {
        value = await this.reader.get(this.key);
      } catch {
        this.lastRead = undefined;
        return undefined;
      }
      state = parseControl(value);
      this.lastRead = state ? { state, at: now } : undefined;
    }
    if (!state) return undefined;
    // A message heard after the read can only make us stricter.
    if (this.heardBad) return undefined;
    if (this.heard?.state === 'open' && this.heard.since >= state.since) return this.heard;
    return state;
  }

  stop(): void {
    this.reader.disconnect();
    this.subscriber.disconnect();
  }
}
