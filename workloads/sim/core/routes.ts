// A route table for a simulator's REST API: method + path pattern → handler. A pattern is a path
// whose segments are literals or `:name` parameters, optionally constrained by a regular
// expression, e.g. "/markets/:ticker/orderbook" or "/markets/:id(0x[0-9a-fA-F]{64})". Empty
// segments are ignored (a trailing slash matches too); literals compare as written, parameters
// are percent-decoded. Adding an endpoint is one line in a venue's route list.

export type Params = Record<string, string>;

type Segment = { literal: string } | { param: string; pattern?: RegExp };

interface Route<H> {
  method: string;
  segments: Segment[];
  handler: H;
}

export class Routes<H> {
  private readonly routes: Array<Route<H>> = [];

  get(pattern: string, handler: H): this {
    return this.add('GET', pattern, handler);
  }

  post(pattern: string, handler: H): this {
    return this.add('POST', pattern, handler);
  }

  delete(pattern: string, handler: H): this {
    return this.add('DELETE', pattern, handler);
  }

  add(method: string, pattern: string, handler: H): this {
    this.routes.push({ method, segments: split(pattern).map(parseSegment), handler });
    return this;
  }

  /** The first route of this method whose pattern matches `path`, with its parameters. */
  match(method: string, path: string): { handler: H; params: Params } | undefined {
    const parts = split(path);
    for (const route of this.routes) {
      if (route.method !== method || route.segments.length !== parts.length) continue;
      const params = matchSegments(route.segments, parts);
      if (params) return { handler: route.handler, params };
    }
    return undefined;
  }
}

function split(path: string): string[] {
  return path.split('/').filter(Boolean);
}

function parseSegment(text: string): Segment {
  const param = /^:(\w+)(?:\((.+)\))?$/.exec(text);
  if (!param) return { literal: text };
  return param[2] === undefined ? { param: param[1]! } : { param: param[1]!, pattern: new RegExp(`^(?:${param[2]})$`) };
}

function matchSegments(segments: Segment[], parts: string[]): Params | undefined {
  const params: Params = {};
  for (const [i, segment] of segments.entries()) {
    const part = parts[i]!;
    if ('literal' in segment) {
      if (segment.literal !== part) return undefined;
      continue;
    }
    if (segment.pattern && !segment.pattern.test(part)) return undefined;
    params[segment.param] = decodeURIComponent(part);
  }
  return params;
}
