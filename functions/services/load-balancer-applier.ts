import { randomUUID } from 'node:crypto';
import type { BigIpCluster } from '../adapters/bigip-cluster.js';
import type { DynamoDbBindingStore } from '../adapters/dynamodb-binding-store.js';
import type { DynamoDbPartitionLease } from '../adapters/dynamodb-partition-lease.js';
import type { DynamoDbResourceStore, StatusOutcome } from '../adapters/dynamodb-resource-store.js';
import { type ApplyScope, planApply, type ScopeTarget, scopeFor } from '../domain/bigip-apply-plan.js';
import {
  operatingStatusFor,
  type Translation,
  type TranslationOptions,
  translate,
} from '../domain/bigip-translation.js';
import { BigIpError, RejectedRequestError } from '../domain/errors.js';
import type { MemberSpec, ResourceType } from '../domain/lbaas-request.js';
import type { AgentRegistry } from '../domain/ports.js';
import {
  allRecords,
  buildTree,
  isDeleted,
  isPending,
  type LoadBalancerTree,
  type ResourceRecord,
  resourceKey,
} from '../domain/resource-state.js';

export interface ApplierDeps {
  env: string;
  host: string;
  resources: DynamoDbResourceStore;
  bindings: DynamoDbBindingStore;
  registry: AgentRegistry;
  lease: DynamoDbPartitionLease;
  cluster: BigIpCluster;
  translation?: Omit<TranslationOptions, 'env'>;
  clock: () => number;
}

export interface ApplyTarget {
  requestId: string;
  loadbalancerId: string;
  resource: ResourceType;
  objectId: string;
  operation: ScopeTarget['operation'];
}

export type ApplyResult =
  | { outcome: 'gone' }
  | {
      outcome: 'applied';
      commands: number;
      atomic: boolean;
      skipped: string[];
      statuses: number;
      device: string;
    }
  | { outcome: 'device-error'; reason: string; device: string };

/**
 * The agent's work for one request: load the load balancer's whole desired tree, translate it,
 * read what the device has for the objects the request can change, apply only the difference
 * (one transaction) under the partition lease, then write ACTIVE/ERROR statuses and, for a
 * deleted load balancer, release its binding and tenant affinity.
 */
export class LoadBalancerApplier {
  constructor(private readonly deps: ApplierDeps) {}

  async apply(target: ApplyTarget): Promise<ApplyResult> {
    const { env, resources, clock } = this.deps;
    const records = await resources.loadRecords(target.loadbalancerId);
    const tree = buildTree(records);
    if (!tree) return { outcome: 'gone' };
    if (tree.root.env !== env) {
      throw new RejectedRequestError(
        'environment-mismatch',
        `load balancer ${tree.root.id} belongs to environment ${tree.root.env}, not ${env}`,
      );
    }
    const translation = translate(tree, { env, ...this.deps.translation });
    const scope = scopeFor(tree, translation, {
      resource: target.resource,
      id: target.objectId,
      operation: target.operation,
    });

    const { lease, cluster } = this.deps;
    // One writer per partition of a cluster (config-sync stays safe: it only runs from the active unit).
    const leaseKey = `${env}#${cluster.name}#${translation.partition}`;
    const owner = `${this.deps.host}#${randomUUID()}`;
    let result: ApplyResult;
    await lease.acquire(leaseKey, owner);
    try {
      result = await this.onDevice(translation, scope);
    } catch (error) {
      if (error instanceof BigIpError && !error.transient) {
        cluster.forget();
        const reason = String(error.context.bigipMessage ?? error.message);
        await resources.recordOutcomes(this.failed(tree, target, reason), clock());
        return { outcome: 'device-error', reason, device: error.device };
      }
      if (error instanceof BigIpError) cluster.forget();
      throw error;
    } finally {
      await lease.release(leaseKey, owner).catch(() => undefined);
    }

    const outcomes = completions(tree, translation, scope, target);
    const written = await resources.recordOutcomes(outcomes, clock());
    if (translation.loadbalancerDeleted) {
      const released = await this.deps.bindings.release(tree.root.id);
      if (released) await this.deps.registry.adjustLoadbalancerCount(released.env, released.host, -1);
    }
    return result.outcome === 'applied' ? { ...result, statuses: written } : result;
  }

  private async onDevice(translation: Translation, scope: ApplyScope): Promise<ApplyResult> {
    const device = await this.deps.cluster.activeDevice();
    const snapshot = await device.read(translation.partition, scope.reads);
    const plan = planApply(translation, scope, snapshot);
    const report = await device.execute(translation.partition, plan);
    const changed =
      plan.createFolder || plan.commands.length > 0 || plan.nodeCleanup.length > 0 || plan.removeFolder;
    if (changed) await this.deps.cluster.syncAfterChange(device);
    return {
      outcome: 'applied',
      commands: plan.commands.length,
      atomic: plan.atomic,
      skipped: report.skipped,
      statuses: 0,
      device: device.name,
    };
  }

  /** A device refused the change: the request's object and its load balancer go to ERROR with the device's words. */
  private failed(tree: LoadBalancerTree, target: ApplyTarget, reason: string): StatusOutcome[] {
    const out: StatusOutcome[] = [];
    const record = allRecords(tree).find((r) => r.type === target.resource && r.id === target.objectId);
    if (record) out.push({ kind: 'error', record, reason });
    if (record !== tree.root) out.push({ kind: 'error', record: tree.root, reason });
    return out;
  }
}

/**
 * Which statuses an apply settles: pending objects whose BIG-IP objects were in scope (and the
 * children deleted with a deleted pool); the load balancer itself when it was in scope or when
 * nothing else of its tree is left pending.
 */
export function completions(
  tree: LoadBalancerTree,
  translation: Translation,
  scope: ApplyScope,
  target: Pick<ApplyTarget, 'resource' | 'objectId'>,
): StatusOutcome[] {
  const touched = new Set<string>();
  for (const key of scope.keys) {
    const owner = translation.owner.get(key);
    if (owner) touched.add(owner);
  }
  touched.add(resourceKey(target.resource, target.objectId));
  const inScope = (r: ResourceRecord): boolean => {
    if (scope.full || touched.has(resourceKey(r.type, r.id))) return true;
    if ((r.type === 'member' || r.type === 'healthmonitor') && isDeleted(tree, r)) {
      return touched.has(resourceKey('pool', (r.desired as MemberSpec).pool_id));
    }
    return false;
  };
  const outcome = (r: ResourceRecord): StatusOutcome => {
    const error = translation.errors.get(resourceKey(r.type, r.id));
    if (error) return { kind: 'error', record: r, reason: error };
    if (isDeleted(tree, r)) return { kind: 'deleted', record: r };
    return { kind: 'active', record: r, operatingStatus: operatingStatusFor(tree, r) };
  };

  const out: StatusOutcome[] = [];
  const children = allRecords(tree).filter((r) => r !== tree.root);
  for (const r of children) {
    // Pending objects, and objects deleted along with a deleted parent, settle when in scope.
    if ((isPending(r.provisioningStatus) || isDeleted(tree, r)) && inScope(r)) out.push(outcome(r));
  }
  const settled = new Set(out.map((o) => o.record));
  const othersPending = children.some((r) => isPending(r.provisioningStatus) && !settled.has(r));
  const root = tree.root;
  if (isPending(root.provisioningStatus) && (inScope(root) || !othersPending)) {
    const childError = out.find((o) => o.kind === 'error');
    out.push(
      childError && !isDeleted(tree, root)
        ? { kind: 'error', record: root, reason: (childError as { reason: string }).reason }
        : outcome(root),
    );
    settled.add(root);
  }
  // Operating statuses derive from configuration: adding a monitor turns a pool's members from
  // NO_MONITOR to ONLINE, disabling a load balancer disables its listeners.
  for (const r of allRecords(tree)) {
    if (settled.has(r) || r.provisioningStatus !== 'ACTIVE' || isDeleted(tree, r)) continue;
    const operating = operatingStatusFor(tree, r);
    if (operating !== r.operatingStatus) out.push({ kind: 'active', record: r, operatingStatus: operating });
  }
  return out;
}
