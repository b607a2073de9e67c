// Large frames cost memory after they are gone: `ws` assembles each message in a new buffer, and V8,
// which knows nothing of the pod's 256 MiB limit, lets such garbage pile up (a venue sending 4 MiB
// frames as fast as the socket goes took a monitor from 120 to 245 MiB before V8 collected; 186 MiB
// with this). So once large frames (refused or not) add up to `budgetBytes` since the last
// collection, the monitor asks V8 for a full collection. Normal traffic (frames of a few hundred
// bytes) never gets there; a hostile venue pays for its frames in our CPU, not in our memory.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Frames from this size on count toward the budget. */
const LARGE_FRAME_BYTES = 64 * 1024;

let collect: (() => void) | undefined;

/** V8's collector, exposed once for this process (the documented way without a command-line flag). */
function collector(): () => void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  return collect;
}

export class FrameMemory {
  private pending = 0;
  /** Full collections asked for. */
  collections = 0;

  constructor(readonly budgetBytes = 32 << 20) {}

  /** A frame of `bytes` was received (whatever became of it). */
  received(bytes: number): void {
    if (bytes < LARGE_FRAME_BYTES) return;
    this.pending += bytes;
    if (this.pending < this.budgetBytes) return;
    this.pending = 0;
    this.collections++;
    collector()();
  }
}
