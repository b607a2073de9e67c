import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { main } from '../../cli/main.js';
import { commands } from '../../cli/registry.js';
import { packageInfo } from '../../lib/package-root.js';

async function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), env });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('arbees CLI', () => {
  it('lists every command in --help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).to.equal(0);
    for (const command of commands) expect(out).to.contain(command.path.join(' '));
  });

  it('registers each lazily loaded command under its own path', async () => {
    for (const entry of commands) expect((await entry.load()).path).to.deep.equal(entry.path);
  });

  for (const command of commands) {
    it(`has --help for "${command.path.join(' ')}"`, async () => {
      const { code, out } = await run([...command.path, '--help']);
      expect(code).to.equal(0);
      expect(out).to.match(new RegExp(`^Usage: arbees ${command.path.join(' ')}`));
      expect(out).to.contain('-h, --help');
    });
  }

  it('rejects an unknown command or option with usage and exit code 2', async () => {
    const unknown = await run(['frobnicate']);
    expect(unknown.code).to.equal(2);
    expect(unknown.err).to.contain('unknown command "frobnicate"');
    const badOption = await run(['version', '--bogus']);
    expect(badOption.code).to.equal(2);
    expect(badOption.err).to.match(/arbees version: Unknown option '--bogus'/);
  });

  it('prints the package version', async () => {
    const { out } = await run(['version', '--json']);
    expect(JSON.parse(out)).to.deep.equal({ version: packageInfo().version, node: process.version });
  });

  it('config check: exit 0 with a summary for a valid file, exit 1 with every problem otherwise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'arbees-cli-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'shard: nba-east\nredis: { url: "redis://r:6379" }\npostgres: { url: "postgres://u:topsecret@p/d" }\n');
    const ok = await run(['config', 'check', '--file', good]);
    expect(ok).to.include({ code: 0, out: `config OK: shard "nba-east" (file ${good})` });
    const json = await run(['config', 'check', '-f', good, '--json']);
    expect(json.out).not.to.contain('topsecret');
    const bad = await run(['config', 'check', '--no-env'], { ARBEES_SHARD: 'ignored' });
    expect(bad.code).to.equal(1);
    expect(bad.err).to.contain('shard: is required (set shard in the file or ARBEES_SHARD)');
  });

  it('runs as a real process through bin/arbees', async () => {
    const { stdout } = await promisify(execFile)(join(packageInfo().root, 'bin', 'arbees'), ['config', '--help']);
    expect(stdout).to.contain('config check');
  });
});
