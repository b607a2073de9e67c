import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRuntimeConfig } from '../../lib/config.js';
import { ConfigError } from '../../contracts/config-error.js';

const validEnv = {
  ARBEES_SHARD: 'nba-east',
  ARBEES_REDIS_URL: 'redis://127.0.0.1:6379',
  ARBEES_POSTGRES_URL: 'postgres://arbees:pw@db:5432/arbees',
};

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  expect.fail('expected a ConfigError');
}

describe('runtime config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'arbees-config-'));

  it('reads a complete config from the environment and applies defaults', () => {
    const config = loadRuntimeConfig({ env: validEnv });
    expect(config).to.deep.equal({
      shard: 'nba-east',
      redis: { url: 'redis://127.0.0.1:6379' },
      postgres: { url: 'postgres://arbees:pw@db:5432/arbees' },
      http: { port: 9464 },
      log: { level: 'info' },
    });
  });

  it('reads a YAML file and lets environment variables override it', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(
      file,
      'shard: from-file\nredis: { url: "redis://file:6379" }\npostgres: { url: "postgres://file/db" }\nhttp: { port: 9000 }\n',
    );
    const config = loadRuntimeConfig({ file, env: { ARBEES_SHARD: 'from-env', ARBEES_HTTP_PORT: '9100' } });
    expect(config.shard).to.equal('from-env');
    expect(config.redis.url).to.equal('redis://file:6379');
    expect(config.http.port).to.equal(9100);
  });

  it('lists every problem at once, naming the variable it came from', () => {
    const found = problems(() =>
      loadRuntimeConfig({ env: { ARBEES_SHARD: 'Bad_Name', ARBEES_REDIS_URL: 'http://x', ARBEES_HTTP_PORT: '70000' } }),
    );
    expect(found).to.have.length(4);
    expect(found[0]).to.match(/^shard: must be a DNS label.*\(from ARBEES_SHARD\)$/);
    expect(found).to.include.members([
      'redis.url: must be a URL starting with redis:// or rediss:// (from ARBEES_REDIS_URL)',
      'postgres: is required (set postgres.url in the file or ARBEES_POSTGRES_URL)',
    ]);
    expect(found.find((p) => p.startsWith('http.port'))).to.match(/65535.*ARBEES_HTTP_PORT/);
  });

  it('refuses unknown keys in a file (a typo must not be silently ignored)', () => {
    const file = join(dir, 'typo.yaml');
    writeFileSync(file, 'shard: s\nredis: { url: "redis://r:1", tls: true }\npostgres: { url: "postgres://p/d" }\nloglevel: debug\n');
    const found = problems(() => loadRuntimeConfig({ file }));
    expect(found).to.have.members([`(top level): unknown key "loglevel" (in ${file})`, `redis: unknown key "tls" (in ${file})`]);
  });

  it('explains an unreadable or malformed file', () => {
    expect(() => loadRuntimeConfig({ file: join(dir, 'absent.yaml') })).to.throw(
      ConfigError,
      /cannot read config file .*absent\.yaml\n {2}- no such file/,
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ "shard": ');
    expect(() => loadRuntimeConfig({ file: bad })).to.throw(ConfigError, /is not valid JSON/);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    expect(() => loadRuntimeConfig({ file: list })).to.throw(ConfigError, /must hold a mapping.*\n {2}- got a list/);
  });
});
