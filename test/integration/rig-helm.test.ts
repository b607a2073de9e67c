// Proves the pinned helm works against the rig's real apiserver (its kubeVersion check included).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rig } from '../rig/index.js';
import { tool } from '../rig/tools.js';
import { packageInfo } from '../../lib/package-root.js';

const run = promisify(execFile);

describe('rig: helm', function () {
  this.timeout(900_000);

  it('lints the chart and installs, lists and uninstalls a release on the real apiserver', async () => {
    const kube = await rig.kube();
    const helm = tool('helm');
    const home = mkdtempSync(join(tmpdir(), 'arbees-helm-'));
    const env = { ...process.env, KUBECONFIG: kube.kubeconfigPath, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };
    const chart = join(packageInfo().root, 'charts', 'arbees');

    const version = await run(helm, ['version', '--short'], { env });
    expect(version.stdout).to.match(/^v3\.17\.2/);
    const lint = await run(helm, ['lint', '--strict', chart], { env });
    expect(lint.stdout).to.contain('0 chart(s) failed');

    // No --wait: the rig runs no scheduler or kubelet, so the operator's pods never start.
    const install = await run(helm, ['install', 'rig-test', chart, '--namespace', 'default'], { env });
    expect(install.stdout).to.contain('STATUS: deployed');
    const list = JSON.parse((await run(helm, ['list', '--namespace', 'default', '--output', 'json'], { env })).stdout) as Array<{
      name: string;
      status: string;
    }>;
    expect(list.map((r) => [r.name, r.status])).to.deep.include(['rig-test', 'deployed']);
    await run(helm, ['uninstall', 'rig-test', '--namespace', 'default', '--wait'], { env });
    const after = JSON.parse((await run(helm, ['list', '--namespace', 'default', '--output', 'json'], { env })).stdout) as unknown[];
    expect(after).to.deep.equal([]);
  });

  it('refuses values that break the chart schema', async () => {
    const helm = tool('helm');
    const chart = join(packageInfo().root, 'charts', 'arbees');
    const failure = await run(helm, ['template', 'x', chart, '--set', 'image.pullPolicy=Sometimes']).then(
      () => undefined,
      (e: { stderr: string }) => e.stderr,
    );
    expect(failure).to.match(/image\.pullPolicy.*must be one of the following: "Always", "IfNotPresent", "Never"/s);
  });
});
