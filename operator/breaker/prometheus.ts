// Instant queries against the Prometheus HTTP API (/api/v1/query), with a timeout and optional
// bearer token and CA, returning plain numbers per series or an error the breaker can act on.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Reading } from './machine.js';

export interface PrometheusOptions {
  url: string;
  timeoutMs?: number;
  bearerToken?: string;
  /** PEM CA bundle for an https URL with a private CA. */
  ca?: string;
}

interface QueryResponse {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: 'vector' | 'scalar' | 'matrix' | 'string'; result: unknown };
}

function get(url: URL, options: PrometheusOptions, agent: HttpAgent): Promise<{ status: number; body: string }> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    // A deadline on the whole exchange (the socket's own timeout only measures silence, and a
    // server trickling bytes would never trip it).
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (error: Error) => {
      clearTimeout(timer);
      reject(error);
    };
    const req = send(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json', ...(options.bearerToken ? { authorization: `Bearer ${options.bearerToken}` } : {}) },
        ca: options.ca,
        agent,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body });
        });
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

  /** Evaluates `promql` now; every series' value, or an error (unreachable, bad query, non-numeric). */
  async query(promql: string): Promise<Reading> {
    const url = new URL('api/v1/query', this.options.url.endsWith('/') ? this.options.url : `${this.options.url}/`);
    url.searchParams.set('query', promql);
    let response: { status: number; body: string };
    try {
      response = await get(url, this.options, this.agent);
    } catch (error) {
      return { error: `Prometheus unreachable: ${(error as Error).message}` };
    }
    let parsed: QueryResponse;
    try {
      parsed = JSON.parse(response.body) as QueryResponse;
    } catch {
      return { error: `Prometheus answered HTTP ${response.status} with a non-JSON body` };
    }
    if (parsed.status !== 'success' || !parsed.data) return { error: `query failed (HTTP ${response.status}): ${parsed.error ?? 'unknown error'}` };
    const { resultType, result } = parsed.data;
    if (resultType === 'scalar') return { values: [sampleValue((result as [number, string])[1])] };
    if (resultType === 'vector') return { values: (result as Array<{ value: [number, string] }>).map((r) => sampleValue(r.value[1])) };
    return { error: `query must return a vector or scalar, got ${resultType}` };
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}
