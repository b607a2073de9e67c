// Signal intake from the shard's signals stream through a Redis consumer group: a
// restart resumes where it stopped, an entry is acknowledged only once its outcome is durable in
// PostgreSQL, and entries left pending by a dead consumer are claimed (XAUTOCLAIM) after an idle
// time. The blocking read has a connection of its own (XREADGROUP BLOCK holds it), so that
// acknowledgements of entries being handled are not queued behind it.
import type { Redis } from 'ioredis';
import { streamKeys } from '../../contracts/messages.js';

export interface StreamEntry {
  id: string;
  /** Null for an entry deleted from the stream while pending. */
  fields: string[] | null;
}

export interface IntakeSettings {
  group: string;
  consumer: string;
  batch: number;
  blockMs: number;
}

type RawEntries = Array<[string, string[] | null]>;

export class SignalIntake {
  readonly key: string;
  /** Entries already handed over by a recovery; kept across a recovery that fails, cleared when one completes. */
  private readonly seenInRecovery = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly reader: Redis,
    shard: string,
    readonly settings: IntakeSettings,
  ) {
    this.key = streamKeys.signals(shard);
  }

  /** Creates the consumer group (and the stream) if missing; new groups start at the beginning. */
  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.key, this.settings.group, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
  }

  private async withGroup<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (error) {
      // The stream or group vanished (a Redis restart without persistence): recreate and retry once.
      if (!String((error as Error).message).includes('NOGROUP')) throw error;
      await this.ensureGroup();
      return read();
    }
  }

  /** Entries delivered to this consumer and not yet acknowledged (after a restart or a failure). */
  async ownPending(): Promise<StreamEntry[]> {
    const result = await this.withGroup<Array<[string, RawEntries]> | null>(() =>
      this.redis.xreadgroup('GROUP', this.settings.group, this.settings.consumer, 'COUNT', this.settings.batch, 'STREAMS', this.key, '0'),
    );
    return (result?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, fields }));
  }

  /**
   * Hands every pending entry to `handle`: first those delivered to this consumer before a failure,
   * then those pending with any consumer. Only for the holder of the shard lock: no other executor
   * of the shard is alive, so nothing pending is still being worked on.
   */
  async recoverPending(handle: (entries: StreamEntry[]) => Promise<void>): Promise<void> {
    await this.ensureGroup();
    for (let round = 0; round < 1_000; round++) {
      const own = await this.ownPending();
      const fresh = own.filter((e) => !this.seenInRecovery.has(e.id));
      if (fresh.length === 0) break;
      for (const e of fresh) this.seenInRecovery.add(e.id);
      await handle(fresh);
    }
    for (let round = 0; round < 1_000; round++) {
      const claimed = await this.claim(0);
      if (claimed.length === 0) break;
      await handle(claimed);
      if (claimed.every((e) => this.seenInRecovery.has(e.id))) break;
      for (const e of claimed) this.seenInRecovery.add(e.id);
    }
    this.seenInRecovery.clear();
  }

  /** Takes over entries pending for longer than `minIdleMs` with any consumer of the group. */
  async claim(minIdleMs: number): Promise<StreamEntry[]> {
    const out: StreamEntry[] = [];
    let cursor = '0-0';
    for (let round = 0; round < 100; round++) {
      const reply = (await this.withGroup(() =>
        this.redis.xautoclaim(this.key, this.settings.group, this.settings.consumer, minIdleMs, cursor, 'COUNT', this.settings.batch),
      )) as [string, RawEntries, string[]?];
      for (const [id, fields] of reply[1]) out.push({ id, fields });
      // Entries deleted from the stream while pending: nothing to do but acknowledge them.
      for (const id of reply[2] ?? []) out.push({ id, fields: null });
      cursor = reply[0];
      if (cursor === '0-0' || out.length >= this.settings.batch) break;
    }
    return out;
  }

  /** Up to `count` new entries, waiting up to blockMs. */
  async next(count = this.settings.batch): Promise<StreamEntry[]> {
    const result = await this.withGroup<Array<[string, RawEntries]> | null>(() =>
      this.reader.xreadgroup(
        'GROUP',
        this.settings.group,
        this.settings.consumer,
        'COUNT',
        Math.max(1, Math.min(count, this.settings.batch)),
        'BLOCK',
        this.settings.blockMs,
        'STREAMS',
        this.key,
        '>',
      ),
    );
    return (result?.[0]?.[1] ?? []).map(([id, fields]) => ({ id, fields }));
  }

  async ack(id: string): Promise<void> {
    await this.redis.xack(this.key, this.settings.group, id);
  }
}
