import { ContentionError, RejectedRequestError } from '../domain/errors.js';
import { type LbaasRequest, parseRequest, type ResourceType } from '../domain/lbaas-request.js';
import type { ListenerStatistics } from '../domain/listener-statistics.js';
import { type Statistics, sumStatistics, toStatistics } from '../domain/listener-statistics.js';
import { checkNetworks } from '../domain/network-checks.js';
import {
  findNetwork,
  inRouteDomain,
  loadBalancerOfPort,
  type NetworkCatalog,
  type ResolvedSubnet,
  reservedAddresses,
  routeDomainOf,
  usableAddresses,
  vipCandidates,
  vipPortId,
} from '../domain/networks.js';
import {
  memberBatchBody,
  parseJson,
  postBody,
  putBody,
  rejectUnsupported,
} from '../domain/octavia-bodies.js';
import {
  DISPLAY_NAMES,
  faultForRejection,
  faults,
  OctaviaFault,
  PROVIDER,
  PROVIDER_DESCRIPTION,
} from '../domain/octavia-faults.js';
import {
  isPlainPage,
  type ListQuery,
  listViews,
  pageLinks,
  parseListQuery,
  type QueryParams,
  selectFields,
} from '../domain/octavia-listing.js';
import { authorize, type Caller, listingScope, type PolicyMode } from '../domain/octavia-policy.js';
import {
  overLimit,
  type QuotaCheck,
  quotaFault,
  type UsageChange,
  usageOf,
} from '../domain/octavia-quotas.js';
import {
  allowedCidrs,
  checkMemberSubnet,
  checkMutable,
  chooseVip,
  findRecord,
  missing,
  type PlanContext,
  planDelete,
  planFailover,
  planListenerCreate,
  planListenerUpdate,
  planLoadBalancerCreate,
  planLoadBalancerUpdate,
  planMemberBatch,
  planMemberCreate,
  planMemberUpdate,
  planMonitorCreate,
  planMonitorUpdate,
  planPolicyCreate,
  planPolicyUpdate,
  planPoolCreate,
  planPoolUpdate,
  planRuleCreate,
  planRuleUpdate,
  projectRecords,
  type WritePlan,
} from '../domain/octavia-requests.js';
import {
  hiddenFields,
  internalView,
  listenerView,
  type OctaviaObject,
  poolView,
  ROOT_TAGS,
  statusTree,
  viewOf,
} from '../domain/octavia-views.js';
import type { ListPosition, ObjectCatalog, RequestQueue, ResourceStore } from '../domain/ports.js';
import { explainRecordConflict, type Refusal } from '../domain/refusals.js';
import { checkAgainstRecords, checkCertificateRefs, needsRecordChecks } from '../domain/request-checks.js';
import {
  allRecords,
  buildTree,
  failedRequestTargets,
  type LoadBalancerTree,
  listedByProject,
  type ObjectRef,
  type ResourceRecord,
  resourceKey,
} from '../domain/resource-state.js';
import type { OctaviaSettings } from './octavia-settings.js';

/** Where a new load balancer went: bound (with what undoes that), nowhere yet (no active agent), or refused (capacity). */
export type PlacementResult =
  | { kind: 'placed'; release(): Promise<void> }
  | { kind: 'waiting'; reason: string }
  | { kind: 'refused'; refusal: Refusal };

/** Binds a new load balancer to an agent (the scheduler's placement), or says why it cannot. */
export interface LoadBalancerPlacement {
  place(request: LbaasRequest): Promise<PlacementResult>;
}

export interface OctaviaApiDeps {
  env: string;
  policy: PolicyMode;
  /** The project a noauth caller acts for when a create names none (the local stack's). */
  defaultProject?: string;
  networks: NetworkCatalog;
  resources: ResourceStore;
  catalog: ObjectCatalog;
  statistics: { loadStatistics(loadbalancerId: string): Promise<ListenerStatistics[]> };
  queue: RequestQueue;
  placement: LoadBalancerPlacement;
  /** Quotas, flavors and availability zones; without them, quotas are unlimited and flavors and zones answer 501. */
  settings?: OctaviaSettings;
  clock: () => number;
  random: () => number;
  newId: () => string;
  /**
   * How long a write's answer may wait for its change to be applied (0: answer at once, as Octavia
   * does). Clients poll after a write (octaviaclient's `--wait` sleeps 3 s between reads, Terraform
   * 5 s): a change the agents apply within this time is answered as it then stands, so the first
   * poll finds it settled; one that takes longer is answered PENDING_* as before.
   */
  settle?: { withinMs: number; pollMs: number; sleep: (ms: number) => Promise<void> };
}

/** An answer: HTTP status and JSON body (none for 202/204). */
export interface ApiResult {
  status: number;
  body?: unknown;
}

/** Octavia's API microversions, oldest first (the last is CURRENT). */
const VERSIONS: [string, string][] = [
  ['v2.0', '2016-12-11'],
  ['v2.1', '2018-04-20'],
  ['v2.2', '2018-07-31'],
  ['v2.3', '2018-12-18'],
  ['v2.4', '2018-12-19'],
  ['v2.5', '2019-01-21'],
  ['v2.6', '2019-01-25'],
  ['v2.7', '2018-01-25'],
  ['v2.8', '2019-02-12'],
  ['v2.9', '2019-03-04'],
  ['v2.10', '2019-03-05'],
  ['v2.11', '2019-06-24'],
  ['v2.12', '2019-09-11'],
  ['v2.13', '2019-09-13'],
  ['v2.14', '2019-11-10'],
  ['v2.15', '2020-03-10'],
  ['v2.16', '2020-03-15'],
  ['v2.17', '2020-04-29'],
  ['v2.18', '2020-04-29'],
  ['v2.19', '2020-05-12'],
  ['v2.20', '2020-08-02'],
  ['v2.21', '2020-09-03'],
  ['v2.22', '2020-09-04'],
  ['v2.23', '2020-09-07'],
  ['v2.24', '2020-10-15'],
  ['v2.25', '2021-10-02'],
  ['v2.26', '2022-08-29'],
];

/** How many concurrent partition reads a listing makes. */
const READ_CONCURRENCY = 16;
/** Guarded writes that lost a race (the load balancer changed after it was read) are planned again this often. */
const WRITE_ATTEMPTS = 4;

/**
 * The Octavia v2 API's use cases: reads answered from the resources table (a show costs one query
 * of its load balancer's partition; a default list page, a page of the by-project index and the
 * partitions of the load balancers on it), and writes that check and record like the scheduler
 * does (the same recording transaction, its claims and request checks, plus Octavia's
 * immutability rule as a guard in that transaction), place a new load balancer (so capacity is
 * refused before answering), put the requests on the environment's queue and answer with what
 * was recorded.
 */
export class OctaviaApi {
  /** Where each child id lives (ids never move between load balancers, so this never goes stale). */
  private readonly located = new Map<string, { loadbalancerId: string; type: ResourceType }>();

  constructor(private readonly deps: OctaviaApiDeps) {}

  // ---- discovery ----

  versions(baseUrl: string): ApiResult {
    return {
      status: 200,
      body: {
        versions: VERSIONS.map(([id, updated], i) => ({
          id,
          status: i === VERSIONS.length - 1 ? 'CURRENT' : 'SUPPORTED',
          updated: `${updated}T00:00:00Z`,
          links: [{ href: `${baseUrl}/v2`, rel: 'self' }],
        })),
      },
    };
  }

  providers(caller: Caller, params: QueryParams): ApiResult {
    authorize(this.deps.policy, 'read', caller, caller.projectId);
    const all = [{ name: PROVIDER, description: PROVIDER_DESCRIPTION }];
    const fields = params.fields?.flatMap((f) => f.split(','));
    return { status: 200, body: { providers: all.map((p) => selectFields(p, fields)) } };
  }

  providerCapabilities(
    caller: Caller,
    provider: string,
    kind: 'flavor' | 'availability_zone',
    params: QueryParams = {},
  ): ApiResult {
    if (this.deps.settings) return this.deps.settings.capabilities(caller, provider, kind, params);
    authorize(this.deps.policy, 'admin', caller);
    if (provider !== PROVIDER) throw new OctaviaFault(501, `Provider '${provider}' was not found.`);
    // Flavors and availability zones are not supported (their profiles answer 501), so the
    // provider has no metadata to describe: Octavia's answer for a driver without them.
    const what = kind === 'flavor' ? 'flavor' : 'availability zone';
    throw faults.unsupportedAction(`This provider does not support getting the supported ${what} metadata.`);
  }

  // ---- reads ----

  async show(
    type: ResourceType,
    caller: Caller,
    id: string,
    params: QueryParams,
    parentId?: string,
  ): Promise<ApiResult> {
    const { tree, record } = await this.find(type, id, parentId);
    authorize(this.deps.policy, 'read', caller, record.tenantId);
    const fields = params.fields?.flatMap((f) => f.split(','));
    return { status: 200, body: { [ROOT_TAGS[type].one]: selectFields(viewOf(tree, record), fields) } };
  }

  async list(
    type: ResourceType,
    caller: Caller,
    params: QueryParams,
    url: string,
    parentId?: string,
  ): Promise<ApiResult> {
    const query = parseListQuery(type, params, attributesOf(type));
    const many = ROOT_TAGS[type].many;
    const respond = (items: OctaviaObject[], links: { href: string; rel: string }[]) => ({
      status: 200,
      body: { [many]: items, [`${many}_links`]: links },
    });

    // A pool's members and a policy's rules: one query of their load balancer's partition (they
    // are not in the by-project index).
    if (!listedByProject(type)) {
      const parentType = type === 'member' ? 'pool' : 'l7policy';
      const { tree, record: parent } = await this.find(parentType, parentId as string);
      authorize(this.deps.policy, 'read', caller, parent.tenantId);
      const key = type === 'member' ? 'pool_id' : 'l7policy_id';
      const views = recordsOf(tree, type)
        .filter((r) => (r.desired as Record<string, unknown>)[key] === parent.id)
        .map((r) => viewOf(tree, r));
      const out = listViews(views, query, params, url);
      return respond(out.items, out.links);
    }

    const scope = listingScope(this.deps.policy, caller, query.projectId);
    const lbFilter = query.filters.find(([key]) => key === 'loadbalancer_id')?.[1];
    let views: OctaviaObject[];
    if (lbFilter && lbFilter.length === 1 && type !== 'loadbalancer') {
      // Listeners or pools of one load balancer: its partition.
      const tree = await this.loadTree(lbFilter[0] as string);
      views =
        tree && (scope === undefined || tree.root.tenantId === scope)
          ? recordsOf(tree, type).map((r) => internalView(tree, r))
          : [];
    } else if (scope !== undefined && isPlainPage(query)) {
      // The default order: one page of the project's index, and the partitions of what is on it.
      return respond(...(await this.plainPage(type, scope, query, params, url)));
    } else {
      const records =
        scope === undefined
          ? await this.deps.catalog.listAll(this.deps.env, type)
          : await this.allOfProject(type, scope);
      views = await this.render(records);
    }
    const out = listViews(views, query, params, url);
    return respond(
      out.items.map((v) => hideParents(type, v)),
      out.links,
    );
  }

  private async plainPage(
    type: ResourceType,
    project: string,
    query: ListQuery,
    params: QueryParams,
    url: string,
  ): Promise<[OctaviaObject[], { href: string; rel: string }[]]> {
    let after: ListPosition | undefined;
    if (query.marker !== undefined) {
      const marker = await this.findOrUndefined(type, query.marker);
      if (!marker || marker.record.tenantId !== project)
        throw new OctaviaFault(400, `Supplied pagination marker '${query.marker}' is not valid.`);
      after = {
        createdAt: marker.record.createdAt,
        id: marker.record.id,
        loadbalancerId: marker.record.loadbalancerId,
      };
    }
    const limit = query.limit ?? Number.MAX_SAFE_INTEGER;
    const page = await this.deps.catalog.listByProject(this.deps.env, type, project, {
      limit: Math.min(limit, 1000),
      ...(after ? { after } : {}),
    });
    const views = (await this.render(page.items)).map((v) => hideParents(type, v));
    const items = views.map((v) => selectFields(v, query.fields));
    return [items, pageLinks(views, query, params, url)];
  }

  private async allOfProject(type: ResourceType, project: string): Promise<ResourceRecord[]> {
    const out: ResourceRecord[] = [];
    let after: ListPosition | undefined;
    for (;;) {
      const page = await this.deps.catalog.listByProject(this.deps.env, type, project, {
        limit: 1000,
        ...(after ? { after } : {}),
      });
      out.push(...page.items);
      const last = page.items.at(-1);
      if (!page.more || !last) return out;
      after = { createdAt: last.createdAt, id: last.id, loadbalancerId: last.loadbalancerId };
    }
  }

  /** Views of records from many load balancers: each load balancer's partition read once. */
  private async render(records: readonly ResourceRecord[]): Promise<OctaviaObject[]> {
    const lbs = [...new Set(records.map((r) => r.loadbalancerId))];
    const trees = new Map<string, LoadBalancerTree>();
    let next = 0;
    const worker = async () => {
      while (next < lbs.length) {
        const lb = lbs[next++] as string;
        const tree = await this.loadTree(lb);
        if (tree) trees.set(lb, tree);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, lbs.length) }, worker));
    const out: OctaviaObject[] = [];
    for (const r of records) {
      const tree = trees.get(r.loadbalancerId);
      const current = tree ? findRecord(tree, r.type, r.id) : undefined;
      if (tree && current) out.push(internalView(tree, current));
    }
    return out;
  }

  async status(caller: Caller, loadbalancerId: string): Promise<ApiResult> {
    const { tree } = await this.find('loadbalancer', loadbalancerId);
    authorize(this.deps.policy, 'read', caller, tree.root.tenantId);
    return { status: 200, body: statusTree(tree) };
  }

  async stats(caller: Caller, type: 'loadbalancer' | 'listener', id: string): Promise<ApiResult> {
    const { tree, record } = await this.find(type, id);
    authorize(this.deps.policy, 'read', caller, record.tenantId);
    const listeners = new Set(tree.listeners.map((l) => l.id));
    const all = (await this.deps.statistics.loadStatistics(tree.root.id)).filter((s) =>
      listeners.has(s.listenerId),
    );
    const wanted = type === 'listener' ? all.filter((s) => s.listenerId === id) : all;
    const stats: Statistics = sumStatistics(wanted.map(toStatistics));
    return { status: 200, body: { stats } };
  }

  // ---- writes ----

  async create(
    type: ResourceType,
    caller: Caller,
    rawBody: string | undefined,
    parentId?: string,
  ): Promise<ApiResult> {
    const body = parseJson(rawBody);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.createOnce(type, caller, body, parentId);
      } catch (error) {
        if (!(error instanceof ContentionError) || attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
  }

  private async createOnce(
    type: ResourceType,
    caller: Caller,
    raw: Record<string, unknown>,
    parentId?: string,
  ): Promise<ApiResult> {
    switch (type) {
      case 'loadbalancer':
        return this.createLoadBalancer(caller, raw);
      case 'listener': {
        const body = postBody('listener', raw);
        const tree = await this.treeOf('loadbalancer', body.loadbalancer_id);
        this.writable(caller, tree);
        checkMutable(tree, ['ACTIVE']);
        // A CIDR of the other IP version is Octavia's 400 before any 501.
        allowedCidrs(body.allowed_cidrs, tree.root.desired.vip_address);
        rejectUnsupported('listener', body);
        return this.execute(planListenerCreate(this.ctx(tree), tree, body), tree, 201);
      }
      case 'pool': {
        const body = postBody('pool', raw);
        if (!body.listener_id && !body.loadbalancer_id)
          throw faults.validation('loadbalancer_id or listener_id must be specified.');
        const tree = body.listener_id
          ? await this.treeOf('listener', body.listener_id)
          : await this.treeOf('loadbalancer', body.loadbalancer_id as string);
        if (body.loadbalancer_id && body.loadbalancer_id !== tree.root.id)
          throw faults.validation(
            `Listener ${body.listener_id} is not on load balancer ${body.loadbalancer_id}.`,
          );
        this.writable(caller, tree);
        checkMutable(tree, ['ACTIVE']);
        rejectUnsupported('pool', body);
        return this.execute(planPoolCreate(this.ctx(tree), tree, body), tree, 201);
      }
      case 'member': {
        const body = postBody('member', raw);
        const tree = await this.treeOf('pool', parentId as string);
        this.writable(caller, tree);
        checkMutable(tree, ['ACTIVE'], parentId);
        rejectUnsupported('member', body);
        checkMemberSubnet(this.deps.networks, body.subnet_id);
        return this.execute(planMemberCreate(this.ctx(tree), tree, parentId as string, body), tree, 201);
      }
      case 'healthmonitor': {
        const body = postBody('healthmonitor', raw);
        const tree = await this.treeOf('pool', body.pool_id);
        this.writable(caller, tree);
        checkMutable(tree, ['ACTIVE'], body.pool_id);
        rejectUnsupported('healthmonitor', body);
        return this.execute(planMonitorCreate(this.ctx(tree), tree, body), tree, 201);
      }
      case 'l7policy': {
        const body = postBody('l7policy', raw);
        const tree = await this.treeOf('listener', body.listener_id);
        this.writable(caller, tree);
        checkMutable(tree, ['ACTIVE']);
        rejectUnsupported('l7policy', body);
        return this.execute(planPolicyCreate(this.ctx(tree), tree, body), tree, 201);
      }
      case 'l7rule': {
        const body = postBody('l7rule', raw);
        const tree = await this.treeOf('l7policy', parentId as string);
        this.writable(caller, tree);
        checkMutable(tree, ['ACTIVE']);
        rejectUnsupported('l7rule', body);
        return this.execute(planRuleCreate(this.ctx(tree), tree, parentId as string, body), tree, 201);
      }
    }
  }

  private async createLoadBalancer(caller: Caller, raw: Record<string, unknown>): Promise<ApiResult> {
    const body = postBody('loadbalancer', raw);
    const project =
      body.project_id ??
      body.tenant_id ??
      caller.projectId ??
      (caller.noauth ? this.deps.defaultProject : undefined);
    if (!project)
      throw faults.validation(
        'Missing project ID in request where one is required. An administrator should check the keystone settings in the Octavia configuration.',
      );
    authorize(this.deps.policy, 'write', caller, project);
    rejectUnsupported('loadbalancer', body);
    const settings = this.deps.settings;
    if (!settings && body.flavor_id) throw faults.unsupportedOption('flavor_id (flavors)');
    if (!settings && body.availability_zone)
      throw faults.unsupportedOption('availability_zone (availability zones)');
    const placement = settings ? await settings.placementOf(body.flavor_id, body.availability_zone) : {};
    let holder: string | undefined;
    if (body.vip_port_id) {
      const owner = loadBalancerOfPort(body.vip_port_id);
      const [lb] = await this.deps.resources.loadObjects(owner, [{ type: 'loadbalancer', id: owner }]);
      if (lb && (lb.desired as { vip_port_id?: string }).vip_port_id === body.vip_port_id.toLowerCase())
        holder = owner;
    }
    const vip = chooseVip(body, this.deps.networks, () => holder);
    for (let attempt = 1; ; attempt++) {
      const id = this.deps.newId();
      const address = vip.address ?? (await this.allocateVip(vip.subnet));
      const plan = planLoadBalancerCreate(
        this.ctx(undefined, project),
        body,
        { address, subnetId: vip.subnet.id, networkId: vip.networkId, portId: vip.portId ?? vipPortId(id) },
        id,
        placement,
      );
      try {
        return await this.execute(plan, undefined, 201, { full: true });
      } catch (error) {
        // An allocated address taken between the look-up and the claim: allocate again.
        const raced = error instanceof OctaviaFault && error.status === 409 && /VIP/.test(error.message);
        if (!raced || vip.address || attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
  }

  /** A free address of the subnet: candidates from a random offset, their claims read a hundred at a time. */
  private async allocateVip(subnet: ResolvedSubnet): Promise<string> {
    const size = usableAddresses(subnet.cidr);
    const start = Math.floor(this.deps.random() * size);
    // VIPs are unique per route domain (claims.ts); the network's self IPs and SNAT addresses are never offered.
    const network = subnet.configured ? findNetwork(this.deps.networks, subnet.networkId) : undefined;
    const rd = network ? routeDomainOf(network) : 0;
    const reserved = network ? reservedAddresses(network) : new Set<string>();
    for (let read = 0; read < Math.min(size, 5_000); read += 100) {
      const candidates = vipCandidates(subnet.cidr, start + read, Math.min(100, size - read));
      const held = await this.deps.catalog.claimedAddresses(
        this.deps.env,
        candidates.map((a) => inRouteDomain(a, rd)),
      );
      const free = candidates.find((a) => !reserved.has(a) && !held.has(inRouteDomain(a, rd)));
      if (free) return free;
    }
    throw faults.conflict(`No free address for a VIP in subnet ${subnet.id} (${subnet.cidr}).`);
  }

  async update(
    type: ResourceType,
    caller: Caller,
    id: string,
    rawBody: string | undefined,
    parentId?: string,
  ) {
    const body = parseJson(rawBody);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.updateOnce(type, caller, id, body, parentId);
      } catch (error) {
        if (!(error instanceof ContentionError) || attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
  }

  private async updateOnce(
    type: ResourceType,
    caller: Caller,
    id: string,
    raw: Record<string, unknown>,
    parentId?: string,
  ): Promise<ApiResult> {
    const parsed = putBody(type, raw);
    const { tree } = await this.find(type, id, parentId);
    this.writable(caller, tree);
    const ctx = this.ctx(tree);
    let plan: WritePlan;
    switch (type) {
      case 'loadbalancer':
        checkMutable(tree, ['ACTIVE']);
        rejectUnsupported(type, parsed);
        plan = planLoadBalancerUpdate(ctx, tree, parsed as Parameters<typeof planLoadBalancerUpdate>[2]);
        break;
      case 'listener': {
        checkMutable(tree, ['ACTIVE']);
        const body = parsed as Parameters<typeof planListenerUpdate>[3];
        allowedCidrs(body.allowed_cidrs, tree.root.desired.vip_address);
        rejectUnsupported(type, parsed);
        plan = planListenerUpdate(ctx, tree, id, body);
        break;
      }
      case 'pool':
        checkMutable(tree, ['ACTIVE']);
        rejectUnsupported(type, parsed);
        plan = planPoolUpdate(ctx, tree, id, parsed as Parameters<typeof planPoolUpdate>[3]);
        break;
      case 'member':
        checkMutable(tree, ['ACTIVE'], parentId);
        rejectUnsupported(type, parsed);
        plan = planMemberUpdate(ctx, tree, id, parsed as Parameters<typeof planMemberUpdate>[3]);
        break;
      case 'healthmonitor': {
        const pool = (
          (findRecord(tree, 'healthmonitor', id) as ResourceRecord).desired as { pool_id: string }
        ).pool_id;
        checkMutable(tree, ['ACTIVE'], pool);
        rejectUnsupported(type, parsed);
        plan = planMonitorUpdate(ctx, tree, id, parsed as Parameters<typeof planMonitorUpdate>[3]);
        break;
      }
      case 'l7policy':
        checkMutable(tree, ['ACTIVE']);
        rejectUnsupported(type, parsed);
        plan = planPolicyUpdate(ctx, tree, id, parsed as Parameters<typeof planPolicyUpdate>[3]);
        break;
      case 'l7rule':
        checkMutable(tree, ['ACTIVE']);
        rejectUnsupported(type, parsed);
        plan = planRuleUpdate(ctx, tree, id, parsed as Parameters<typeof planRuleUpdate>[3]);
        break;
    }
    return this.execute(plan, tree, 200);
  }

  async remove(
    type: ResourceType,
    caller: Caller,
    id: string,
    options: { cascade?: boolean; parentId?: string } = {},
  ): Promise<ApiResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const { tree, record } = await this.find(type, id, options.parentId);
        this.writable(caller, tree);
        const pool =
          type === 'member' || type === 'healthmonitor'
            ? (record.desired as { pool_id: string }).pool_id
            : undefined;
        checkMutable(tree, type === 'loadbalancer' ? ['ACTIVE', 'ERROR'] : ['ACTIVE'], pool);
        return await this.execute(planDelete(this.ctx(tree), tree, type, id, options), tree, 204);
      } catch (error) {
        if (!(error instanceof ContentionError) || attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
  }

  async failover(caller: Caller, id: string): Promise<ApiResult> {
    const { tree } = await this.find('loadbalancer', id);
    authorize(this.deps.policy, 'admin', caller, tree.root.tenantId);
    if (!['ACTIVE', 'ERROR'].includes(tree.root.provisioningStatus))
      throw faults.pendingState(tree.root.provisioningStatus, id);
    return this.execute(planFailover(this.ctx(tree), tree), tree, 202);
  }

  async batchMembers(
    caller: Caller,
    poolId: string,
    rawBody: string | undefined,
    additiveOnly: boolean,
  ): Promise<ApiResult> {
    const members = memberBatchBody(parseJson(rawBody));
    for (let attempt = 1; ; attempt++) {
      try {
        const tree = await this.treeOf('pool', poolId);
        this.writable(caller, tree);
        checkMutable(tree, ['ACTIVE'], poolId);
        for (const m of members) {
          rejectUnsupported('member', m);
          checkMemberSubnet(this.deps.networks, m.subnet_id);
        }
        return await this.execute(
          planMemberBatch(this.ctx(tree), tree, poolId, members, additiveOnly),
          tree,
          202,
        );
      } catch (error) {
        if (!(error instanceof ContentionError) || attempt >= WRITE_ATTEMPTS) throw error;
      }
    }
  }

  /**
   * Checks a plan's messages exactly as the scheduler would (parseRequest, the certificate and
   * record checks, each against the records the earlier ones leave), places a new load balancer,
   * records them (the first under the plan's guard), queues them and answers with what was
   * recorded. Nothing is queued unless everything was recorded.
   */
  private async execute(
    plan: WritePlan,
    tree: LoadBalancerTree | undefined,
    status: number,
    options: { full?: boolean } = {},
  ): Promise<ApiResult> {
    const { env, resources, clock } = this.deps;
    let records = tree ? allRecords(tree) : [];
    const requests: LbaasRequest[] = [];
    for (const message of plan.messages) {
      const parsed = parseRequest(JSON.stringify(message));
      if (!parsed.ok) throw faults.badRequest(parsed.reason);
      const certificates = checkCertificateRefs(parsed.request, env);
      if (certificates) throw faultOf(certificates);
      const placed = checkNetworks(parsed.request, this.deps.networks);
      if ('refusal' in placed) throw faults.badRequest(placed.refusal.reason);
      const checked = needsRecordChecks(placed.request)
        ? checkAgainstRecords(placed.request, records)
        : { request: placed.request };
      if ('refusal' in checked) throw faultOf(checked.refusal);
      const request = checked.request;
      records = projectRecords(records, request, env, clock());
      requests.push(request);
    }

    const first = requests[0] as LbaasRequest;
    // The first write counts the whole call in its project's usage, within its quotas (race-free:
    // the counters change in the same transaction); the others count nothing of their own.
    const project = first.tenantId;
    const totals = usageOf(requests);
    // Only a call that creates something reads the project's quota (an update or delete costs no read).
    const creates = isBatch(first) || Object.values(totals).some((n) => (n ?? 0) > 0);
    const limits = this.deps.settings && creates ? await this.deps.settings.limitsOf(project) : {};
    const quotaOf = (i: number): QuotaCheck =>
      i === 0 ? { limits, ...(isBatch(first) ? {} : { add: totals }) } : { limits: {}, add: {} };
    // A quota already met is refused before placing anything (the transaction still decides a race).
    if (
      Object.entries(totals).some(([t, n]) => (n ?? 0) > 0 && (limits as Record<string, number>)[t]! >= 0)
    ) {
      const over = overLimit(await resources.loadUsage(env, project), totals, limits);
      if (over.length > 0) throw quotaFault(over);
    }
    let placed: { release(): Promise<void> } | undefined;
    if (first.resource === 'loadbalancer' && first.operation === 'create') {
      const placement = await this.deps.placement.place(first);
      if (placement.kind === 'waiting')
        throw faults.unavailable(
          `No agent is active to place load balancer ${first.loadbalancerId}; try again. (${placement.reason})`,
        );
      if (placement.kind === 'refused') throw faultOf(placement.refusal);
      placed = placement;
    }

    let recorded = 0;
    try {
      for (const request of requests) {
        const guard = recorded === 0 ? plan.guard : undefined;
        const result = await resources.recordRequest(request, env, clock(), guard, quotaOf(recorded));
        if (!result.recorded) {
          const why =
            'refusal' in result
              ? result.refusal
              : explainRecordConflict(request, env, result.conflict, guard);
          // Nothing in the way explains it: the load balancer changed since it was read; read again.
          throw why
            ? faultOf(why)
            : new ContentionError(`request ${request.requestId} raced with another writer; will retry`);
        }
        recorded += 1;
      }
    } catch (error) {
      if (recorded === 0) {
        await placed?.release();
        throw error instanceof ContentionError ? error : asFault(error);
      }
      // Later requests of one plan only fail on the store's errors: what was recorded is not left pending,
      // and what was never recorded gives its count back.
      const unused: UsageChange = usageOf(requests.slice(recorded));
      await resources.releaseUsage(env, project, unused).catch(() => undefined);
      const pending = await this.markFailed(
        requests.slice(0, recorded),
        `the rest of its API call could not be recorded: ${(error as Error).message}`,
      );
      // A store error stays what it is: the handler logs it and answers Octavia's generic 500, as for
      // the first request; what could not be put in ERROR either is named in that log.
      if (pending.length === 0) throw error;
      throw new Error(`${stillPending(pending)} after a later write of the call failed`, { cause: error });
    }
    for (const r of requests)
      if (r.resource !== 'loadbalancer')
        this.located.set(r.object.id, {
          loadbalancerId: r.loadbalancerId,
          type: r.operation === 'batch_update' ? 'pool' : r.resource,
        });

    try {
      await this.deps.queue.send(plan.messages, { recorded: true });
    } catch (error) {
      const pending = await this.markFailed(
        requests,
        `its request could not be queued: ${(error as Error).message}`,
      );
      // The queue's own words (they may name the queue and account) go to the log and the objects' reason.
      throw faults.unavailable(
        `The request was recorded but could not be queued; ${pending.length === 0 ? 'the objects are in ERROR' : stillPending(pending)}.`,
        { cause: error },
      );
    }

    const settled = await this.settled(plan.loadbalancerId);
    if (status === 202 || status === 204) return { status };
    const after = settled === undefined ? await this.loadTree(plan.loadbalancerId) : settled;
    const record = after ? findRecord(after, plan.subject.type, plan.subject.id) : undefined;
    if (!after || !record) throw missing(plan.subject.type, plan.subject.id);
    const view = viewOf(after, record);
    if (options.full && plan.subject.type === 'loadbalancer') {
      view.listeners = after.listeners.map((l) => listenerView(after, l));
      view.pools = after.pools.map((p) => poolView(after, p));
    }
    return { status, body: { [ROOT_TAGS[plan.subject.type].one]: view } };
  }

  /**
   * Waits (at most `settle.withinMs`) until the load balancer is no longer PENDING_* (or is gone:
   * a delete applied) and answers its tree then; undefined when not waiting. Never more than was
   * recorded: what the answer shows is what the agents wrote.
   */
  private async settled(loadbalancerId: string): Promise<LoadBalancerTree | null | undefined> {
    const settle = this.deps.settle;
    if (!settle || settle.withinMs <= 0) return undefined;
    const deadline = this.deps.clock() + settle.withinMs;
    for (;;) {
      const tree = (await this.loadTree(loadbalancerId)) ?? null;
      if (!tree?.root.provisioningStatus.startsWith('PENDING_')) return tree;
      const left = deadline - this.deps.clock();
      if (left <= 0) return tree;
      await settle.sleep(Math.min(settle.pollMs, left));
    }
  }

  /**
   * Puts what the requests recorded in ERROR, saying why; answers the objects the store failed to
   * mark, which nothing else would take out of their PENDING state.
   */
  private async markFailed(requests: readonly LbaasRequest[], why: string): Promise<ObjectRef[]> {
    const pending = new Map<string, ObjectRef>();
    for (const r of requests)
      for (const target of failedRequestTargets(r, this.deps.env))
        await this.deps.resources
          .markError(target, `request ${r.requestId}: ${why}`, this.deps.clock())
          .catch(() => pending.set(resourceKey(target.type, target.id), target));
    return [...pending.values()];
  }

  // ---- finding objects ----

  private ctx(tree: LoadBalancerTree | undefined, project?: string): PlanContext {
    return {
      env: this.deps.env,
      tenantId: project ?? (tree as LoadBalancerTree).root.tenantId,
      newId: this.deps.newId,
      newRequestId: () => `api-${this.deps.newId()}`,
    };
  }

  private writable(caller: Caller, tree: LoadBalancerTree): void {
    authorize(this.deps.policy, 'write', caller, tree.root.tenantId);
  }

  async loadTree(loadbalancerId: string): Promise<LoadBalancerTree | undefined> {
    const tree = buildTree(await this.deps.resources.loadRecords(loadbalancerId));
    return tree && tree.root.env === this.deps.env ? tree : undefined;
  }

  /** The load balancer tree holding an object of a type (Octavia's 404 when there is none). */
  private async treeOf(type: ResourceType, id: string): Promise<LoadBalancerTree> {
    return (await this.find(type, id)).tree;
  }

  /** An object and its load balancer's tree; 404 when absent (or, for a member or rule, under another parent). */
  async find(
    type: ResourceType,
    id: string,
    parentId?: string,
  ): Promise<{ tree: LoadBalancerTree; record: ResourceRecord }> {
    const found = await this.findOrUndefined(type, id);
    if (!found) throw faults.notFound(type, id);
    if (parentId !== undefined) {
      const key = type === 'member' ? 'pool_id' : 'l7policy_id';
      if ((found.record.desired as Record<string, unknown>)[key] !== parentId)
        throw faults.notFound(type, id);
    }
    return found;
  }

  private async findOrUndefined(
    type: ResourceType,
    rawId: string,
  ): Promise<{ tree: LoadBalancerTree; record: ResourceRecord } | undefined> {
    const id = rawId.toLowerCase();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) return undefined;
    let lb = type === 'loadbalancer' ? id : this.located.get(id)?.loadbalancerId;
    if (lb === undefined) {
      const where = await this.deps.resources.locate(this.deps.env, id);
      if (!where || where.type !== type) return undefined;
      lb = where.loadbalancerId;
      this.located.set(id, where);
      if (this.located.size > 100_000) this.located.delete(this.located.keys().next().value as string);
    }
    const tree = await this.loadTree(lb);
    const record = tree ? findRecord(tree, type, id) : undefined;
    if (!tree || !record) {
      this.located.delete(id);
      return undefined;
    }
    return { tree, record };
  }
}

function recordsOf(tree: LoadBalancerTree, type: ResourceType): ResourceRecord[] {
  switch (type) {
    case 'loadbalancer':
      return [tree.root];
    case 'listener':
      return tree.listeners;
    case 'pool':
      return tree.pools;
    case 'member':
      return tree.members;
    case 'healthmonitor':
      return tree.healthmonitors;
    case 'l7policy':
      return tree.l7policies;
    case 'l7rule':
      return tree.l7rules;
  }
}

/** The attributes a list of this type may sort and filter on (the keys its objects show). */
function attributesOf(type: ResourceType): string[] {
  return ATTRIBUTES[type];
}

const COMMON = [
  'id',
  'provisioning_status',
  'operating_status',
  'project_id',
  'tenant_id',
  'created_at',
  'updated_at',
  'tags',
  'name',
  'admin_state_up',
];
const ATTRIBUTES: Record<ResourceType, string[]> = {
  loadbalancer: [
    ...COMMON,
    'description',
    'vip_address',
    'vip_port_id',
    'vip_subnet_id',
    'vip_network_id',
    'provider',
    'flavor_id',
    'vip_qos_policy_id',
    'availability_zone',
  ],
  listener: [
    ...COMMON,
    'description',
    'protocol',
    'protocol_port',
    'connection_limit',
    'default_tls_container_ref',
    'default_pool_id',
    'timeout_client_data',
    'timeout_member_connect',
    'timeout_member_data',
    'timeout_tcp_inspect',
    'client_authentication',
  ],
  pool: [...COMMON, 'description', 'protocol', 'lb_algorithm', 'tls_enabled'],
  member: [
    ...COMMON,
    'address',
    'protocol_port',
    'weight',
    'backup',
    'subnet_id',
    'monitor_address',
    'monitor_port',
  ],
  healthmonitor: [
    ...COMMON,
    'type',
    'delay',
    'timeout',
    'max_retries',
    'max_retries_down',
    'http_method',
    'url_path',
    'expected_codes',
    'http_version',
    'domain_name',
  ],
  l7policy: [
    ...COMMON,
    'description',
    'action',
    'listener_id',
    'redirect_pool_id',
    'redirect_url',
    'redirect_prefix',
    'redirect_http_code',
    'position',
  ],
  l7rule: [...COMMON, 'type', 'compare_type', 'key', 'value', 'invert'],
};

/** Drops the parent ids a view carries for filtering but Octavia does not show. */
function hideParents(type: ResourceType, view: OctaviaObject): OctaviaObject {
  const hidden = hiddenFields(type);
  if (hidden.length === 0) return view;
  const out = { ...view };
  for (const key of hidden) delete out[key];
  return out;
}

/** Objects a failed call could not put in ERROR, named for the caller and the log. */
function stillPending(targets: readonly ObjectRef[]): string {
  const names = targets.map((t) => `${DISPLAY_NAMES[t.type]} ${t.id}`).join(', ');
  return `${names} could not be put in ERROR and may stay PENDING until an operator repairs ${targets.length === 1 ? 'it' : 'them'}`;
}

function isBatch(request: LbaasRequest): boolean {
  return request.operation === 'batch_update';
}

/** A refusal of the request checks, the placement or the recording transaction as Octavia's answer. */
function faultOf(why: Refusal): OctaviaFault {
  return faultForRejection(why.category, why.reason);
}

/** An error of the recording as Octavia's answer (a fault as it is; anything else as it is, a 500). */
function asFault(error: unknown): Error {
  if (error instanceof OctaviaFault) return error;
  if (error instanceof RejectedRequestError) return faultForRejection(error.category, error.message);
  return error as Error;
}
