// Mocha root hooks: stop the rig's services once every test file has run, pass or fail.
import { stopRig } from './index.js';

export async function mochaGlobalTeardown(): Promise<void> {
  await stopRig();
}
