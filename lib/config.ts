// Runtime configuration shared by every Arbees process: read from a JSON/YAML file and/or
// ARBEES_* environment variables, validated with zod, with errors a person can act on.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../contracts/config-error.js';
import { defaultShardConfigPath, parseShardConfig, shardConfigPathEnv, type ShardConfig } from '../contracts/shard-config.js';

const dns1123Label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const logLevels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

function urlWithScheme(schemes: string[]) {
  return z.string().refine(
    (value) => {
      try {
        return schemes.includes(new URL(value).protocol.replace(/:$/, ''));
      } catch {
        return false;
      }
    },
    { message: `must be a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}` },
  );
}

export const runtimeConfigSchema = z
  .object({
    shard: z
      .string()
      .max(63, 'must be at most 63 characters')
      .regex(dns1123Label, 'must be a DNS label: lower-case letters, digits and "-", starting and ending with a letter or digit'),
    redis: z.object({ url: urlWithScheme(['redis', 'rediss']) }).strict(),
    postgres: z.object({ url: urlWithScheme(['postgres', 'postgresql']) }).strict(),
    http: z
      .object({ port: z.coerce.number().int().min(0).max(65535).default(9464) })
      .strict()
      .default({ port: 9464 }),
    log: z
      .object({ level: z.enum(logLevels).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type RuntimeConfig = z.infer<typeof runtimeConfigSchema>;

/** For processes that never use PostgreSQL (monitors, detector): a shared file may still carry it. */
const withoutPostgresSchema = runtimeConfigSchema.extend({ postgres: runtimeConfigSchema.shape.postgres.optional() });
export type RuntimeConfigWithoutPostgres = z.infer<typeof withoutPostgresSchema>;

/** Environment variable for each config path; the single place that names them. */
export const envVariables: Record<string, string> = {
  shard: 'ARBEES_SHARD',
  'redis.url': 'ARBEES_REDIS_URL',
  'postgres.url': 'ARBEES_POSTGRES_URL',
  'http.port': 'ARBEES_HTTP_PORT',
  'log.level': 'ARBEES_LOG_LEVEL',
};

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`cannot read config file ${path}`, [code === 'ENOENT' ? 'no such file' : String(error)]);
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(`config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}`, [
      (error as Error).message.split('\n')[0] ?? String(error),
    ]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path} must hold a mapping at the top level`, [
      `got ${Array.isArray(parsed) ? 'a list' : typeof parsed}`,
    ]);
  }
  return parsed as Record<string, unknown>;
}

function describeIssue(issue: z.core.$ZodIssue, fromEnv: Set<string>, file: string | undefined): string {
  const path = issue.path.map(String).join('.');
  const where = fromEnv.has(path) ? ` (from ${envVariables[path]})` : file ? ` (in ${file})` : '';
  if (issue.code === 'invalid_type' && issue.message.includes('received undefined')) {
    // A missing section: name the settings inside it and their variables.
    const settings = Object.entries(envVariables).filter(([p]) => p === path || p.startsWith(`${path}.`));
    const how = settings.map(([p, variable]) => `${p} in the file or ${variable}`).join('; ');
    return `${path}: is required${how ? ` (set ${how})` : ''}`;
  }
  if (issue.code === 'unrecognized_keys') {
    return `${path || '(top level)'}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}${where}`;
  }
  return `${path || '(top level)'}: ${issue.message}${where}`;
}

/**
 * Loads the runtime config: the file (if given) first, then any ARBEES_* variables on top.
 * Throws ConfigError listing every problem at once.
 */
export function loadRuntimeConfig(options: { file?: string; env?: NodeJS.ProcessEnv }): RuntimeConfig {
  return load(runtimeConfigSchema, options);
}

/** loadRuntimeConfig for a process that does not use PostgreSQL: postgres.url is optional. */
export function loadRuntimeConfigWithoutPostgres(options: { file?: string; env?: NodeJS.ProcessEnv }): RuntimeConfigWithoutPostgres {
  return load(withoutPostgresSchema, options);
}

function load<T extends z.ZodType>(schema: T, options: { file?: string; env?: NodeJS.ProcessEnv }): z.infer<T> {
  const env = options.env ?? {};
  const raw: Record<string, unknown> = options.file ? readConfigFile(options.file) : {};
  const fromEnv = new Set<string>();
  for (const [path, variable] of Object.entries(envVariables)) {
    const value = env[variable];
    if (value !== undefined && value !== '') {
      setPath(raw, path, value);
      fromEnv.add(path);
    }
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      'invalid configuration:',
      result.error.issues.map((issue) => describeIssue(issue, fromEnv, options.file)),
    );
  }
  return result.data;
}

/** Reads the shard config from ARBEES_SHARD_CONFIG (or the mounted default path). */
export function loadShardConfig(path = process.env[shardConfigPathEnv] ?? defaultShardConfigPath): ShardConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read the shard config:`, [
      `${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)} (set ${shardConfigPathEnv})`,
    ]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`invalid shard config in ${path}:`, [`not JSON: ${(error as Error).message}`]);
  }
  return parseShardConfig(parsed, path);
}
