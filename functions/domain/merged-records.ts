import { requestClaims, requestReferences } from './claims.js';
import { isMemberBatch, type LbaasRequest, type ObjectRequest, requestGuardKey } from './lbaas-request.js';
import { resourceKey } from './resource-state.js';

/** The most items one DynamoDB transaction holds. */
export const MAX_TRANSACTION_ITEMS = 100;

/**
 * How many of `requests`, from the first, can be recorded in one transaction with the same effect
 * as recording them one after the other (a FIFO run of one load balancer's scheduler batch):
 * requests for the children of one load balancer by one tenant (not the load balancer itself,
 * whose record is the root they all update; no member batch), no two of which touch one item (a
 * guard, an object, a claim; an object one request writes that another points at), and whose
 * items fit in one transaction (each request's guard, object and claims, the objects pointed at
 * once, the root and the project's usage counter). Under these rules each request's conditions
 * read only items no other request of the run writes, but for the root, whose conditions (owner,
 * environment, not being deleted) no child's request changes. Below 2, nothing is merged.
 */
export function mergeablePrefix(
  requests: readonly LbaasRequest[],
  env: string,
  maxItems = MAX_TRANSACTION_ITEMS,
): number {
  const first = requests[0];
  if (!first) return 0;
  const written = new Set<string>();
  const read = new Set<string>();
  // The root, and the usage counter once a create is among them.
  let items = 1;
  let counted = false;
  let n = 0;
  for (const request of requests) {
    if (!isMergeable(request, first)) break;
    const object = (type: ObjectRequest['resource'], id: string) =>
      `object#${request.loadbalancerId}#${resourceKey(type, id)}`;
    const writes = [
      `guard#${requestGuardKey(env, request)}`,
      object(request.resource, request.object.id),
      ...requestClaims(request, env).map((c) => `claim#${c.key}`),
    ];
    const reads = [...new Set(requestReferences(request).map((r) => object(r.type, r.id)))];
    if (writes.some((k) => written.has(k) || read.has(k)) || reads.some((k) => written.has(k))) break;
    const creates: boolean = request.operation === 'create' && !counted;
    const more = writes.length + reads.filter((k) => !read.has(k)).length + (creates ? 1 : 0);
    if (items + more > maxItems) break;
    items += more;
    counted ||= creates;
    for (const k of writes) written.add(k);
    for (const k of reads) read.add(k);
    n += 1;
  }
  return n;
}

function isMergeable(request: LbaasRequest, first: LbaasRequest): request is ObjectRequest {
  return (
    !isMemberBatch(request) &&
    request.resource !== 'loadbalancer' &&
    request.loadbalancerId === first.loadbalancerId &&
    request.tenantId === first.tenantId
  );
}
