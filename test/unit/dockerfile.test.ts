// The image's security properties a deployment relies on (syntax is linted by `make lint`).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageInfo } from '../../lib/package-root.js';

describe('Dockerfile', () => {
  const text = readFileSync(join(packageInfo().root, 'Dockerfile'), 'utf8');
  const stages = text.split(/^FROM /m).slice(1);
  const final = stages[stages.length - 1]!;

  it('builds on a supported Node.js LTS pinned to its release, and runs from a separate stage without npm or a shell', () => {
    expect(stages.length).to.be.at.least(2);
    const node = /^node:(\d+)\.\d+\.\d+-bookworm-slim AS \w+$/.exec(stages[0]!.split('\n')[0]!);
    expect(node, 'the build stage names an exact node release').to.not.equal(null);
    // Even majors are the LTS lines; 20 reached its end of life in April 2026.
    expect(Number(node![1]) % 2).to.equal(0);
    expect(Number(node![1])).to.be.at.least(22);
    expect(final.split('\n')[0]).to.match(/^\S+:[\w.-]+ AS runtime$/);
    expect(final).not.to.match(/^RUN /m);
    expect(final).to.match(/COPY --from=build \/usr\/local\/bin\/node /);
  });

  it('runs as an unprivileged user with tini as PID 1', () => {
    const user = final.match(/^USER (\S+)$/m)?.[1];
    expect(user, 'the final stage sets USER').to.be.a('string');
    expect(user).not.to.match(/^(root|0)(:|$)/);
    expect(final).to.match(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "\/usr\/local\/bin\/node", "\/app\/dist\/cli\/arbees\.js"\]$/m);
  });
});
