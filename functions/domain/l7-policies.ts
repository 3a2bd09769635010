import type { L7PolicySpec, ListenerSpec } from './lbaas-request.js';
import { notBeingDeleted, type ResourceRecord } from './resource-state.js';

/*
 * The order of a listener's L7 policies, as Octavia keeps it.
 *
 * Octavia keeps a listener's policies as a list (positions 1..n); creating or moving one to
 * position p inserts it there and shifts the others, deleting one closes the gap. Each policy here
 * carries a `rank`, a key between its neighbours' at the time it was placed, so the list order is the
 * rank order and placing one policy writes no other record (a listener's requests are recorded one at a
 * time: its load balancer's FIFO group). A policy's position is its place in that order.
 */

/** Listener protocols whose virtual servers can carry an LTM policy (they have an HTTP profile). */
export const L7_LISTENER_PROTOCOLS: readonly ListenerSpec['protocol'][] = ['HTTP', 'TERMINATED_HTTPS'];

/**
 * A key strictly between `before` and `after` (either may be absent: the list's ends). Keys are
 * digit strings compared as text, i.e. as decimal fractions; they never end in 0, so there is
 * always room between two of them.
 */
export function rankBetween(before: string | undefined, after: string | undefined): string {
  const a = before ?? '';
  if (after !== undefined) {
    let n = 0;
    while ((a[n] ?? '0') === after[n]) n++;
    if (n > 0) return after.slice(0, n) + rankBetween(a.slice(n), after.slice(n));
  }
  const low = a ? Number(a[0]) : 0;
  const high = after !== undefined ? Number(after[0]) : 10;
  if (high - low > 1) return String(Math.round((low + high) / 2));
  if (after !== undefined && after.length > 1) return after[0] as string;
  return String(low) + rankBetween(a.slice(1), undefined);
}

/** A listener's policies in list order (first-match order on the device). */
export function orderedPolicies<R extends Pick<ResourceRecord, 'id' | 'createdAt' | 'desired'>>(
  policies: readonly R[],
): R[] {
  const rank = (r: R) => (r.desired as L7PolicySpec).rank ?? '';
  return [...policies].sort(
    (a, b) =>
      (rank(a) < rank(b) ? -1 : rank(a) > rank(b) ? 1 : 0) ||
      a.createdAt - b.createdAt ||
      a.id.localeCompare(b.id),
  );
}

/** Octavia's positions (1..n) of a listener's live policies, by id. */
export function policyPositions(records: readonly ResourceRecord[], listenerId: string): Map<string, number> {
  const siblings = orderedPolicies(
    records.filter(
      (r) =>
        r.type === 'l7policy' && notBeingDeleted(r) && (r.desired as L7PolicySpec).listener_id === listenerId,
    ),
  );
  return new Map(siblings.map((r, i) => [r.id, i + 1]));
}

/** The rank that puts a policy at `position` among the listener's other live policies. */
export function rankAt(others: readonly ResourceRecord[], position: number): string {
  const ordered = orderedPolicies(others);
  const index = Math.min(position, ordered.length + 1) - 1;
  const rank = (r: ResourceRecord | undefined) => (r ? ((r.desired as L7PolicySpec).rank ?? '') : undefined);
  const before = rank(ordered[index - 1]);
  const after = rank(ordered[index]);
  // Policies recorded without a rank all sort first (''): place after them rather than fail.
  return rankBetween(before, after !== undefined && after > (before ?? '') ? after : undefined);
}
