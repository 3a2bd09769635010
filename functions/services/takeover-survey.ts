import type { TranslationOptions } from '../domain/bigip-translation.js';
import { translate } from '../domain/bigip-translation.js';
import type { NetworkOptions } from '../domain/network-objects.js';
import type { NetworkCatalog } from '../domain/networks.js';
import type { CertificateStore, DeviceCluster, ResourceStore } from '../domain/ports.js';
import { buildTree } from '../domain/resource-state.js';
import {
  assertAgentPrefix,
  planTakeover,
  type TakeoverAction,
  type TakeoverEntry,
} from '../domain/takeover-plan.js';
import { lookupCertificates, readOnce } from './certificate-lookup.js';

export interface TakeoverSurveyDeps extends NetworkOptions {
  cluster: Pick<DeviceCluster, 'activeDevice' | 'peersOf'>;
  resources: Pick<ResourceStore, 'listObjects' | 'loadRecords'>;
  catalog: NetworkCatalog;
  /** The group's unit names in configuration order (unit i has the networks' i-th self IP). */
  unitNames: readonly string[];
  translation?: Omit<TranslationOptions, 'env' | 'certificates' | 'networks'>;
  certificates?: CertificateStore;
}

export type TakeoverReport =
  | { outcome: 'skipped'; reason: string }
  | {
      outcome: 'done';
      /** Only the dry run exists: nothing was written (docs/takeover.md). */
      dryRun: true;
      agentPrefix: string;
      /** The units read, in the group's order. */
      units: string[];
      entries: TakeoverEntry[];
      counts: Record<TakeoverAction, number>;
    };

/**
 * The takeover's dry run (docs/takeover.md): reads every unit of the group and the environment's
 * records, and says what this environment would adopt, rename or leave of what F5's agent made.
 * Reads only: no lease, no write, on the device or in DynamoDB.
 */
export class TakeoverSurvey {
  constructor(private readonly deps: TakeoverSurveyDeps) {}

  async dryRun(agentPrefix: string): Promise<TakeoverReport> {
    assertAgentPrefix(agentPrefix);
    const { env, cluster, resources } = this.deps;
    const active = await cluster.activeDevice();
    const readiness = await active.readiness();
    // A reloading mcpd answers 404 for what exists: its inventory would say "nothing there".
    if (!readiness.ready)
      return { outcome: 'skipped', reason: `device ${active.name} is not ready: ${readiness.reason}` };
    const order = (name: string) => {
      const i = this.deps.unitNames.indexOf(name);
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    const devices = [active, ...cluster.peersOf(active)].sort((a, b) => order(a.name) - order(b.name));
    const units = [];
    for (const device of devices) units.push({ name: device.name, items: await device.inventory() });

    const certificates = this.deps.certificates && readOnce(this.deps.certificates);
    const loadBalancers = [];
    let cursor: string | undefined;
    do {
      const page = await resources.listObjects(env, 'loadbalancer', {
        limit: 100,
        ...(cursor ? { cursor } : {}),
      });
      for (const lb of page.items) {
        const tree = buildTree(await resources.loadRecords(lb.id));
        if (!tree || tree.root.env !== env) continue;
        const translation = translate(tree, {
          env,
          ...this.deps.translation,
          networks: this.deps.catalog,
          certificates: await lookupCertificates(tree, certificates, env),
        });
        loadBalancers.push({ id: tree.root.id, tenantId: tree.root.tenantId, translation });
      }
      cursor = page.cursor;
    } while (cursor);

    const entries = planTakeover({
      env,
      group: this.deps.group,
      trafficGroup: this.deps.trafficGroup,
      agentPrefix,
      catalog: this.deps.catalog,
      loadBalancers,
      units,
    });
    const counts: Record<TakeoverAction, number> = { adopt: 0, rename: 0, leave: 0 };
    for (const e of entries) counts[e.action]++;
    return { outcome: 'done', dryRun: true, agentPrefix, units: units.map((u) => u.name), entries, counts };
  }
}
