// The Prometheus HTTP API with a timeout, a bound on the response's size and optional bearer token
// and CA: instant queries (/api/v1/query) for the breaker, returning plain numbers per series or an
// error it can act on, and the shared request (`api`) that range reads (history.ts) go through.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Reading } from './machine.js';
import { maxRuleSeries, ruleQueryProblem } from './rule-check.js';

export interface PrometheusOptions {
  url: string;
  timeoutMs?: number;
  bearerToken?: string;
  /** PEM CA bundle for an https URL with a private CA. */
  ca?: string;
  /** Largest response body read, in bytes (default 64 MiB): a runaway query must not exhaust memory. */
  maxBytes?: number;
}

/** Per-request overrides of the client's timeout and size bound. */
export interface RequestLimits {
  timeoutMs?: number;
  maxBytes?: number;
}

export interface ApiData {
  resultType: 'vector' | 'scalar' | 'matrix' | 'string';
  result: unknown;
}

/** The `data` of a successful API call, or why there is none (`tooLarge` when the body passed the bound). */
export type ApiResult = { data: ApiData } | { error: string; tooLarge?: boolean };

interface ApiResponse {
  status: 'success' | 'error';
  error?: string;
  data?: ApiData;
}

const defaultMaxBytes = 64 * 1024 * 1024;

class TooLarge extends Error {}

function get(
  url: URL,
  options: PrometheusOptions,
  agent: HttpAgent,
  limits: Required<RequestLimits>,
): Promise<{ status: number; body: string }> {
  const { timeoutMs, maxBytes } = limits;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // Settles once: a destroyed exchange goes on emitting (errors, an end) after we gave up on it.
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      done();
    };
    // A deadline on the whole exchange (the socket's own timeout only measures silence, and a
    // server trickling bytes would never trip it).
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error) => settle(() => reject(error));
    const req = send(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json', ...(options.bearerToken ? { authorization: `Bearer ${options.bearerToken}` } : {}) },
        ca: options.ca,
        agent,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= maxBytes) return void chunks.push(chunk);
          fail(new TooLarge(`response larger than ${maxBytes} bytes`));
          req.destroy();
        });
        res.on('end', () => settle(() => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') })));
        res.on('error', fail);
      },
    );
    req.on('error', fail);
    req.end();
  });
}

/** Prometheus writes sample values as strings, infinities as "+Inf" and "-Inf". */
export function sampleValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

export class PrometheusClient {
  /** Kept-alive connections: every shard's rules are queried on every tick. */
  private readonly agent: HttpAgent;

  constructor(private readonly options: PrometheusOptions) {
    const agentOptions = { keepAlive: true, maxSockets: 16 };
    this.agent = options.url.startsWith('https:') ? new HttpsAgent({ ...agentOptions, ca: options.ca }) : new HttpAgent(agentOptions);
  }

  /** GET `path` (e.g. "api/v1/query_range") under the base URL with `params`: its data, or why not. */
  async api(path: string, params: Record<string, string>, limits: RequestLimits = {}): Promise<ApiResult> {
    const url = new URL(path, this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    let response: { status: number; body: string };
    try {
      response = await get(url, this.options, this.agent, {
        timeoutMs: limits.timeoutMs ?? this.options.timeoutMs ?? 5_000,
        maxBytes: limits.maxBytes ?? this.options.maxBytes ?? defaultMaxBytes,
      });
    } catch (error) {
      return { error: `Prometheus unreachable: ${(error as Error).message}`, ...(error instanceof TooLarge ? { tooLarge: true } : {}) };
    }
    let parsed: ApiResponse;
    try {
      parsed = JSON.parse(response.body) as ApiResponse;
    } catch {
      return { error: `Prometheus answered HTTP ${response.status} with a non-JSON body` };
    }
    if (parsed.status !== 'success' || !parsed.data) {
      return { error: `query failed (HTTP ${response.status}): ${parsed.error ?? 'unknown error'}` };
    }
    return { data: parsed.data };
  }

  /**
   * Evaluates a rule's `promql` now; every series' value, or an error (an invalid or too costly
   * query, unreachable, non-numeric). Its cost is bounded: checked before it is sent, evaluated
   * under a server-side timeout, its answer at most 1 MiB and maxRuleSeries series.
   */
  async query(promql: string): Promise<Reading> {
    const problem = ruleQueryProblem(promql);
    if (problem) return { error: `query ${problem}` };
    const timeoutMs = this.options.timeoutMs ?? 5_000;
    const answer = await this.api(
      'api/v1/query',
      { query: promql, timeout: `${Math.max(1, Math.floor(timeoutMs * 0.8))}ms` },
      { maxBytes: 1 << 20 },
    );
    if ('error' in answer) return { error: answer.error };
    const { resultType, result } = answer.data;
    if (resultType === 'scalar') return { values: [sampleValue((result as [number, string])[1])] };
    if (resultType === 'vector') {
      const series = result as Array<{ value: [number, string] }>;
      if (series.length > maxRuleSeries) return { error: `query returned ${series.length} series, more than ${maxRuleSeries}` };
      return { values: series.map((r) => sampleValue(r.value[1])) };
    }
    return { error: `query must return a vector or scalar, got ${resultType}` };
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
