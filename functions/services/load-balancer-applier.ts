import { type ApplyScope, planApply, type ScopeTarget, scopeFor } from '../domain/bigip-apply-plan.js';
import { partitionName } from '../domain/bigip-names.js';
import { type Translation, type TranslationOptions, translate } from '../domain/bigip-translation.js';
import { BigIpError, RejectedRequestError } from '../domain/errors.js';
import type { ResourceType } from '../domain/lbaas-request.js';
import type {
  AgentRegistry,
  BindingStore,
  DeviceCluster,
  PartitionLease,
  ResourceStore,
} from '../domain/ports.js';
import { buildTree } from '../domain/resource-state.js';
import { completions, refusedByDevice } from '../domain/status-completion.js';

export interface ApplierDeps {
  env: string;
  host: string;
  resources: ResourceStore;
  bindings: BindingStore;
  registry: AgentRegistry;
  lease: PartitionLease;
  cluster: DeviceCluster;
  translation?: Omit<TranslationOptions, 'env'>;
  clock: () => number;
  /** Unique lease-owner tokens (one per apply). */
  newId: () => string;
}

export interface ApplyTarget {
  requestId: string;
  /** The tenant: its partition's lease is taken before anything is read. */
  tenantId: string;
  loadbalancerId: string;
  resource: ResourceType;
  objectId: string;
  operation: ScopeTarget['operation'];
}

/** What an apply works on, from the request that asked for it. */
export function applyTargetOf(request: {
  requestId: string;
  tenantId: string;
  loadbalancerId: string;
  resource: ResourceType;
  operation: ScopeTarget['operation'];
  object: { id: string };
}): ApplyTarget {
  return {
    requestId: request.requestId,
    tenantId: request.tenantId,
    loadbalancerId: request.loadbalancerId,
    resource: request.resource,
    objectId: request.object.id,
    operation: request.operation,
  };
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
 * The agent's work for one request, under the lease of the tenant's partition: load the load
 * balancer's whole desired tree, translate it, read what the device has for the objects the
 * request can change, apply only the difference (one transaction), then write ACTIVE/ERROR
 * statuses and, for a deleted load balancer, release its binding and tenant affinity. The tree is
 * read inside the lease, so an apply that waited for it writes the newest desired state, never an
 * older one; statuses are written only for the revisions it applied.
 */
export class LoadBalancerApplier {
  constructor(private readonly deps: ApplierDeps) {}

  async apply(target: ApplyTarget): Promise<ApplyResult> {
    const { env, lease, cluster } = this.deps;
    // One writer per partition of a cluster (config-sync stays safe: it only runs from the active unit).
    const leaseKey = `${env}#${cluster.name}#${partitionName(env, target.tenantId)}`;
    const owner = `${this.deps.host}#${this.deps.newId()}`;
    await lease.acquire(leaseKey, owner);
    try {
      return await this.underLease(target);
    } finally {
      await lease.release(leaseKey, owner).catch(() => undefined);
    }
  }

  private async underLease(target: ApplyTarget): Promise<ApplyResult> {
    const { env, resources, clock, cluster } = this.deps;
    const records = await resources.loadRecords(target.loadbalancerId);
    const tree = buildTree(records);
    if (!tree) return { outcome: 'gone' };
    if (tree.root.env !== env || tree.root.tenantId !== target.tenantId) {
      throw new RejectedRequestError(
        'environment-mismatch',
        `load balancer ${tree.root.id} belongs to environment ${tree.root.env} and project ${tree.root.tenantId}, not ${env} and ${target.tenantId}`,
      );
    }
    const translation = translate(tree, { env, ...this.deps.translation });
    const scope = scopeFor(tree, translation, {
      resource: target.resource,
      id: target.objectId,
      operation: target.operation,
    });

    let result: ApplyResult;
    try {
      result = await this.onDevice(translation, scope);
    } catch (error) {
      if (error instanceof BigIpError && !error.transient) {
        cluster.forget();
        const reason = String(error.context.bigipMessage ?? error.message);
        await resources.recordOutcomes(refusedByDevice(tree, target, reason), clock());
        return { outcome: 'device-error', reason, device: error.device };
      }
      if (error instanceof BigIpError) cluster.forget();
      throw error;
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
    else await this.deps.cluster.ensureSynced(device);
    return {
      outcome: 'applied',
      commands: plan.commands.length,
      atomic: plan.atomic,
      skipped: report.skipped,
      statuses: 0,
      device: device.name,
    };
  }
}
