// The image's security properties a deployment relies on (syntax is linted by `make lint`).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageInfo } from '../../lib/package-root.js';

describe('Dockerfile', () => {
  const text = readFileSync(join(packageInfo().root, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);
  const final = stages[stages.length - 1]!;

  it('builds in one stage and runs from a separate, smaller one with pinned base images', () => {
    expect(stages.length).to.be.at.least(2);
    for (const stage of stages) expect(stage.split('\n')[0]).to.match(/^node:\d+\.\d+-bookworm-slim AS \w+$/);
    expect(final).not.to.match(/npm (ci|install)(?!.*--omit=dev)/);
  });

  it('runs as an unprivileged user with tini as PID 1', () => {
    const user = final.match(/^USER (\S+)$/m)?.[1];
    expect(user, 'the final stage sets USER').to.be.a('string');
    expect(user).not.to.match(/^(root|0)(:|$)/);
    expect(final).to.match(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "\/app\/dist\/cli\/arbees\.js"\]$/m);
  });
});
