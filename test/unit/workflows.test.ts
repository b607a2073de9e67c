// The GitHub Actions workflows' security properties users rely on: actions pinned to commits,
// a read-only token, the OIDC token only where AWS is reached, no stored AWS keys, deployment
// only from version tags. actionlint (in `make lint`) checks their syntax and expressions.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { packageInfo } from '../../lib/package-root.js';

const root = packageInfo().root;
const dir = join(root, '.github', 'workflows');

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  'runs-on'?: string;
  uses?: string;
  permissions?: Record<string, string> | string;
  environment?: string | { name: string };
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; 'cancel-in-progress': boolean | string };
  jobs: Record<string, Job>;
}

const files = readdirSync(dir)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const text = Object.fromEntries(files.map((f) => [f, readFileSync(join(dir, f), 'utf8')]));
const workflows = Object.fromEntries(files.map((f) => [f, parse(text[f]!) as Workflow]));
const ci = workflows['ci.yml']!;
const cd = workflows['cd.yml']!;

/** Every `uses:` of a workflow (steps and reusable-workflow jobs), with where it is. */
const usesOf = (w: Workflow): Array<[string, string]> =>
  Object.entries(w.jobs).flatMap(([job, j]) => [
    ...(j.uses ? [[job, j.uses] as [string, string]] : []),
    ...(j.steps ?? []).filter((s) => s.uses).map((s) => [job, s.uses!] as [string, string]),
  ]);

describe('GitHub Actions workflows', () => {
  it('are a CI and a CD workflow', () => {
    expect(files).to.include.members(['ci.yml', 'cd.yml']);
  });

  it('pin every action to a full commit SHA, with its release tag in a comment', () => {
    for (const f of files) {
      const uses = usesOf(workflows[f]!);
      expect(uses, f).not.to.be.empty;
      for (const [job, ref] of uses) {
        // A tag or branch can be moved to other code; a commit cannot.
        expect(ref, `${f} job ${job}`).to.match(/^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[0-9a-f]{40}$/);
      }
      for (const line of text[f]!.split('\n').filter((l) => /^\s*(- )?uses:/.test(l))) {
        expect(line, `${f}: the tag the SHA was taken from`).to.match(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
      }
    }
  });

  it('use one commit per action across the workflows', () => {
    const shas = new Map<string, Set<string>>();
    for (const f of files) {
      for (const [, ref] of usesOf(workflows[f]!)) {
        const [action, sha] = ref.split('@') as [string, string];
        const repo = action.split('/').slice(0, 2).join('/');
        shas.set(repo, (shas.get(repo) ?? new Set()).add(sha));
      }
    }
    for (const [repo, set] of shas) expect([...set], repo).to.have.length(1);
  });

  it('give the token read-only access to the contents by default', () => {
    for (const f of files) expect(workflows[f]!.permissions, f).to.deep.equal({ contents: 'read' });
  });

  it('grant id-token: write only to the deploy job, and no other write anywhere', () => {
    const writers: string[] = [];
    for (const f of files) {
      for (const [name, job] of Object.entries(workflows[f]!.jobs)) {
        const p = job.permissions;
        if (p === undefined) continue;
        expect(p, `${f} job ${name}: permissions listed one by one`).to.be.an('object');
        for (const [scope, level] of Object.entries(p as Record<string, string>)) {
          if (level === 'write') writers.push(`${f}:${name}:${scope}`);
          else expect(level, `${f} job ${name} ${scope}`).to.be.oneOf(['read', 'none']);
        }
      }
    }
    expect(writers).to.deep.equal(['cd.yml:deploy:id-token']);
  });

  it('run the deploy job in the production environment, after the checks', () => {
    const deploy = cd.jobs['deploy']!;
    expect(deploy.environment).to.equal('production');
    expect((deploy as { needs?: string | string[] }).needs).to.equal('verify');
  });

  it('hold no long-lived credentials: AWS by OIDC role assumption, no secrets at all', () => {
    for (const f of files) {
      expect(text[f], f).not.to.match(/secrets\.AWS_|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|aws-access-key-id|aws-secret-access-key/i);
      // Nothing here needs a secret: the role ARN and the rest are configuration variables.
      expect(text[f], f).not.to.match(/\$\{\{\s*secrets\./);
    }
    const aws = (cd.jobs['deploy']!.steps ?? []).filter((s) => s.uses?.startsWith('aws-actions/configure-aws-credentials@'));
    expect(aws).to.have.length(1);
    expect(aws[0]!.with).to.include({ 'role-to-assume': '${{ vars.AWS_DEPLOY_ROLE_ARN }}' });
    expect(Object.keys(aws[0]!.with ?? {})).to.have.members(['role-to-assume', 'aws-region', 'role-session-name']);
    // Only the deploy job talks to AWS.
    for (const [name, job] of Object.entries(cd.jobs)) {
      if (name !== 'deploy')
        expect(
          (job.steps ?? []).some((s) => s.uses?.startsWith('aws-actions/')),
          name,
        ).to.equal(false);
    }
  });

  it('deploy only from pushed version tags', () => {
    expect(Object.keys(cd.on)).to.deep.equal(['push']);
    expect(cd.on['push']).to.deep.equal({ tags: ['v*'] });
    // A deployment is never cancelled half-way by the next one.
    expect(cd.concurrency?.['cancel-in-progress']).to.equal(false);
  });

  it('deploy the pushed image by digest with an atomic helm upgrade on the EKS values', () => {
    const helm = (cd.jobs['deploy']!.steps ?? []).find((s) => s.run?.includes('helm upgrade --install'));
    expect(helm, 'a helm upgrade --install step').to.exist;
    expect(helm!.run).to.include('-f charts/arbees/values-eks.yaml');
    expect(helm!.run)
      .to.match(/--atomic\b/)
      .and.match(/--wait\b/);
    expect(helm!.run).to.include('image.tag="$GITHUB_REF_NAME@$IMAGE_DIGEST"');
    expect(JSON.stringify(helm)).to.include('steps.build.outputs.digest');
  });

  it('run CI on pushes and pull requests, never on pull_request_target, cancelling superseded runs', () => {
    expect(Object.keys(ci.on).sort()).to.deep.equal(['pull_request', 'push']);
    for (const f of files) expect(Object.keys(workflows[f]!.on), f).not.to.include('pull_request_target');
    expect(ci.concurrency?.['cancel-in-progress']).to.equal(true);
    const run = (job: string) => (ci.jobs[job]?.steps ?? []).map((s) => s.run ?? '').join('\n');
    expect(run('lint')).to.include('make lint');
    expect(run('unit')).to.include('make test-unit');
    expect(run('integration')).to.match(/sudo .*make test-integration/);
    expect(run('integration')).to.match(/sudo .*make test-cluster/);
    expect(run('chart')).to.include('helm lint');
    expect(run('cluster')).to.include('make kind-up').and.include('make kind-load').and.include('make deploy').and.include('kubectl');
  });

  it('leave no git credentials in the checkout', () => {
    for (const f of files) {
      for (const [name, job] of Object.entries(workflows[f]!.jobs)) {
        for (const s of (job.steps ?? []).filter((s) => s.uses?.startsWith('actions/checkout@'))) {
          expect(s.with?.['persist-credentials'], `${f} job ${name}`).to.equal(false);
        }
      }
    }
  });
});

describe('make lint', () => {
  const makefile = readFileSync(join(root, 'Makefile'), 'utf8');
  /** A target's prerequisites and recipe lines. */
  const target = (name: string) => {
    const m = makefile.match(new RegExp(`^${name.replace(/[.]/g, '\\.')}:([^\\n#]*)(?:#[^\\n]*)?\\n((?:\\t[^\\n]*\\n)*)`, 'm'));
    expect(m, `target ${name}`).to.exist;
    return {
      prerequisites: m![1]!.trim().split(/\s+/),
      recipe: m![2]!
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    };
  };

  it('runs actionlint, building it first', () => {
    const lint = target('lint');
    expect(lint.recipe).to.include('actionlint');
    expect(lint.prerequisites).to.include('.tools/bin/actionlint');
    expect(target('.tools/bin/actionlint').recipe).to.include('bash scripts/setup-actionlint.sh');
  });

  it('gets actionlint at a pinned version from the Go module proxy', () => {
    const script = readFileSync(join(root, 'scripts', 'setup-actionlint.sh'), 'utf8');
    expect(script).to.match(/^VERSION=v\d+\.\d+\.\d+$/m);
    expect(script).to.include('go install "github.com/rhysd/actionlint/cmd/actionlint@$VERSION"');
  });
});
