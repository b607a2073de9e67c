// What a circuit-breaker rule's query may be: PromQL that parses, gives numbers (a vector or a
// scalar), and reads at most an hour of history. A shard's query runs with the operator's access
// to Prometheus on every evaluation, so its cost is bounded here (and, when it runs, by a
// server-side timeout and a bound on the answer's size).
import { validatePromql } from './promql.js';

/** The longest range (or subquery window) a rule may read. */
export const maxRuleRangeMs = 3_600_000;
/** The most series one evaluation may return. */
export const maxRuleSeries = 10_000;

/** Why the query may not be a rule's, or undefined when it may. */
export function ruleQueryProblem(query: string): string | undefined {
  const check = validatePromql(query);
  if (!check.ok) return `not valid PromQL: ${check.error}`;
  if (check.type !== 'vector' && check.type !== 'scalar')
    return `must give a number per series (a vector or a scalar), not a ${check.type}`;
  if (check.maxRangeMs > maxRuleRangeMs)
    return `reads ${check.maxRangeMs / 60_000} minutes of history; a rule may read at most ${maxRuleRangeMs / 60_000}`;
  return undefined;
}
