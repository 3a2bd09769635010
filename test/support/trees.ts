import { randomUUID } from 'node:crypto';
import { rankAt } from '../../functions/domain/l7-policies.js';
import { type L7PolicySpec, parseRequest } from '../../functions/domain/lbaas-request.js';
import {
  buildTree,
  type LoadBalancerTree,
  type ProvisioningStatus,
  type ResourceRecord,
} from '../../functions/domain/resource-state.js';
import { lbIds, requests, uuid } from './factories.js';

/** Builds resource records the way the scheduler would store them, for pure translation tests. */
export class TreeBuilder {
  readonly ids = lbIds();
  private readonly records: ResourceRecord[] = [];

  constructor(lb: Record<string, unknown> = {}) {
    this.add(requests.createLoadbalancer(this.ids, { vip_address: '10.0.0.10', ...lb }));
  }

  private add(
    message: Record<string, unknown>,
    status: ProvisioningStatus = 'PENDING_CREATE',
  ): ResourceRecord {
    const parsed = parseRequest(JSON.stringify(message));
    if (!parsed.ok) throw new Error(parsed.reason);
    const r = parsed.request;
    const record = {
      loadbalancerId: r.loadbalancerId,
      type: r.resource,
      id: r.object.id,
      tenantId: r.tenantId,
      env: 'Project',
      desired: r.object,
      provisioningStatus: status,
      operatingStatus: 'OFFLINE',
      revision: 1,
      requestId: randomUUID(),
      createdAt: this.records.length,
      updatedAt: 1,
    } as ResourceRecord;
    this.records.push(record);
    return record;
  }

  listener(object: Record<string, unknown> = {}) {
    return this.add(requests.createListener(this.ids, object));
  }
  pool(object: Record<string, unknown> = {}) {
    return this.add(requests.createPool(this.ids, object));
  }
  member(poolId: string, object: Record<string, unknown> = {}) {
    return this.add(requests.createMember(this.ids, poolId, { id: uuid(), ...object }));
  }
  healthmonitor(poolId: string, object: Record<string, unknown> = {}) {
    return this.add(requests.createHealthMonitor(this.ids, poolId, object));
  }
  /** An L7 policy placed as the scheduler places it (its rank among the listener's policies). */
  l7policy(listenerId: string, object: Record<string, unknown> = {}) {
    const record = this.add(requests.createL7Policy(this.ids, listenerId, object));
    const others = this.records.filter(
      (r) => r.type === 'l7policy' && r !== record && (r.desired as L7PolicySpec).listener_id === listenerId,
    );
    (record.desired as L7PolicySpec).rank = rankAt(others, (record.desired as L7PolicySpec).position);
    return record;
  }
  l7rule(policyId: string, object: Record<string, unknown> = {}) {
    return this.add(requests.createL7Rule(this.ids, policyId, object));
  }
  status(record: ResourceRecord, status: ProvisioningStatus): this {
    record.provisioningStatus = status;
    return this;
  }
  /** Every record so far, as the resources table would return them. */
  get all(): ResourceRecord[] {
    return [...this.records];
  }
  get root(): ResourceRecord {
    return this.records[0] as ResourceRecord;
  }
  tree(): LoadBalancerTree {
    return buildTree(this.records) as LoadBalancerTree;
  }
}
