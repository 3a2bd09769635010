import { atLeast, keepsRedirectCode } from './device-traits.js';
import { errors } from './error-bodies.js';
import { partitionFilter } from './http-io.js';
import type { ConfigStore } from './ltm-model.js';
import { SimError, type StoredObject } from './ltm-types.js';

/**
 * LTM policies as a device keeps them (`/mgmt/tm/ltm/policy`), from docs/reference/device-facts.md:
 * - §3.4 of device-facts.md: from 12.1 a published policy is neither created nor modified
 *   directly (`01071abb`); a client either sends `legacy: true` (created and edited as before 12.1,
 *   status `legacy`) or works in a draft (`subPath: "Drafts"`, `/P/Drafts/x`), publishes it with
 *   `POST {command: "publish", name: "/P/Drafts/x"}`, and reopens a published one with
 *   `PATCH {createDraft: true}`; a draft named like a published policy answers `01070734`.
 *   Only published (or legacy) policies can be attached to a virtual server (tmsh reference).
 * - Recorded reads (terraform-provider-bigip and interlook test fixtures, 14.1.2 and 16.1.0):
 *   `strategy` reads back as `/Common/first-match`; rules are a subcollection with `ordinal`;
 *   conditions and actions are subcollections of each rule, named "0", "1"…, a condition listing
 *   `index`, `external`, `present`, `remote` besides what was sent, an action listing `code`,
 *   `expirySecs`, `length`, `offset`, `port`, `status`, `timeout`, `vlanId` as 0 when not set.
 * - §7.2 of device-facts.md (f5-cccl's recorded 12.1.0 and 12.1.1 reads): a policy read with
 *   `expandSubcollections=true` expands its rules *and* each rule's conditions and actions; forward
 *   actions read back with `select: true` and a `poolReference`, header conditions with `all: true`,
 *   and a condition's `index` is its path-segment index (0 unless `pathSegment`).
 * - §7.1: a condition sent without a case option reads back `caseInsensitive: true` (and matches so);
 *   one sent with `caseSensitive: true` reads back so.
 * - §7.4: an action's `code` is a 14.0 field; before 14.0 mcpd reads it back as 0.
 * Where no source exists, the simulator says so in its error text.
 */

const DRAFTS = 'Drafts';

function draftPath(partition: string, name: string): string {
  return `/${partition}/${DRAFTS}/${name}`;
}

/** `~P~x`, `~P~Drafts~x` → `/P/x`, `/P/Drafts/x`. */
export function policyPath(id: string): string {
  return id.startsWith('~') ? id.replaceAll('~', '/') : `/Common/${id}`;
}

export class LtmPolicies {
  constructor(private readonly version: string) {}

  execute(
    store: ConfigStore,
    method: string,
    id: string | undefined,
    sub: string | undefined,
    query: URLSearchParams,
    body: Record<string, unknown>,
  ): unknown {
    const expand = query.get('expandSubcollections') === 'true';
    if (!id) {
      if (method === 'GET')
        return {
          kind: 'tm:ltm:policy:policycollectionstate',
          items: store
            .all('ltm/policy')
            .filter((p) => inFilteredPartition(query, p))
            .map((p) => this.render(p, expand)),
        };
      if (method !== 'POST') throw new SimError(405, errors.methodNotAllowed(method));
      if (body.command === 'publish') return this.render(this.publish(store, String(body.name ?? '')));
      return this.render(this.create(store, body));
    }
    const path = policyPath(id);
    const partition = path.split('/')[1] as string;
    if (!store.folderExists(partition)) throw new SimError(400, errors.folderMissingInUrl(`/${partition}`));
    const policy = store.get('ltm/policy', path);
    if (!policy) throw new SimError(404, errors.notFound('Policy', path));
    if (sub === 'rules') {
      if (method !== 'GET') throw new SimError(405, errors.methodNotAllowed(method));
      return {
        kind: 'tm:ltm:policy:rules:rulescollectionstate',
        items: rulesOf(policy).map((r) => this.renderRule(policy, r, expand)),
      };
    }
    if (sub) throw new SimError(404, errors.unknownPath(`/tm/ltm/policy/${id}/${sub}`));
    switch (method) {
      case 'GET':
        return this.render(policy, expand);
      case 'PATCH':
      case 'PUT':
        return this.render(this.modify(store, policy, body, method === 'PUT'));
      case 'DELETE': {
        const vs = store
          .all('ltm/virtual')
          .find((v) => ((v.attrs.policies as { name: string }[]) ?? []).some((p) => p.name === path));
        if (vs) throw new SimError(400, errors.policyInUse(path, vs.fullPath));
        store.remove('ltm/policy', path);
        return {};
      }
      default:
        throw new SimError(405, errors.methodNotAllowed(method));
    }
  }

  private create(store: ConfigStore, body: Record<string, unknown>): StoredObject {
    const name = String(body.name ?? '');
    const partition = String(body.partition ?? 'Common').replace(/^\//, '');
    if (!/^[A-Za-z0-9_.:%-]+$/.test(name)) throw new SimError(400, errors.invalidName(name));
    if (!store.folderExists(partition))
      throw new SimError(400, errors.folderMissingOnCreate('Policy', `/${partition}/${name}`));
    const published = `/${partition}/${name}`;
    const draft = body.subPath === DRAFTS;
    if (draft && store.get('ltm/policy', published))
      throw new SimError(400, errors.publishedPolicyExists(published));
    if (!draft && body.legacy !== true && atLeast(store.traits, 12, 1))
      throw new SimError(400, errors.publishedPolicy(published, draftPath(partition, name)));
    const path = draft ? draftPath(partition, name) : published;
    if (store.get('ltm/policy', path)) throw new SimError(409, errors.exists('Policy', path, partition));
    const object = store.make(name, partition, {});
    object.fullPath = path;
    object.attrs.status = draft ? 'draft' : body.legacy === true ? 'legacy' : 'published';
    if (draft) object.attrs.subPath = DRAFTS;
    setAttributes(store, object, body, true);
    store.insert('ltm/policy', path, object);
    return object;
  }

  private publish(store: ConfigStore, name: string): StoredObject {
    const draft = store.get('ltm/policy', name);
    if (draft?.attrs.status !== 'draft') throw new SimError(404, errors.notFound('Policy', name));
    const published = `/${draft.partition}/${draft.name}`;
    const previous = store.get('ltm/policy', published);
    store.remove('ltm/policy', name);
    const object = store.make(draft.name, draft.partition, { ...draft.attrs, status: 'published' });
    delete object.attrs.subPath;
    object.fullPath = published;
    // Virtual servers keep naming the policy by its published path, so republishing keeps them attached.
    if (previous) store.remove('ltm/policy', published);
    store.insert('ltm/policy', published, object);
    return object;
  }

  private modify(store: ConfigStore, policy: StoredObject, body: Record<string, unknown>, replace: boolean) {
    if (Object.keys(body).length === 0) throw new SimError(400, errors.emptyPatch());
    const isDraft = policy.attrs.status === 'draft';
    if (body.createDraft === true && !isDraft) {
      const path = draftPath(policy.partition, policy.name);
      if (store.get('ltm/policy', path))
        throw new SimError(409, errors.exists('Policy', path, policy.partition));
      const copy = store.make(policy.name, policy.partition, {
        ...structuredClone(policy.attrs),
        status: 'draft',
        subPath: DRAFTS,
      });
      copy.fullPath = path;
      store.insert('ltm/policy', path, copy);
      return copy;
    }
    if (!isDraft && body.legacy !== true && atLeast(store.traits, 12, 1))
      throw new SimError(
        400,
        errors.publishedPolicy(policy.fullPath, draftPath(policy.partition, policy.name)),
      );
    const before = structuredClone(policy.attrs);
    try {
      if (replace) policy.attrs = { status: before.status, ...(isDraft ? { subPath: DRAFTS } : {}) };
      setAttributes(store, policy, body, replace);
    } catch (error) {
      policy.attrs = before;
      throw error;
    }
    if (!isDraft && body.legacy === true) policy.attrs.status = 'legacy';
    policy.generation = store.nextGeneration();
    return policy;
  }

  /** A policy as the device renders it. */
  render(policy: StoredObject, expand = false): Record<string, unknown> {
    const link = `https://localhost/mgmt/tm/ltm/policy/${idOf(policy)}`;
    const { rules: _rules, subPath, ...attrs } = policy.attrs;
    return {
      kind: 'tm:ltm:policy:policystate',
      name: policy.name,
      partition: policy.partition,
      ...(subPath ? { subPath } : {}),
      fullPath: policy.fullPath,
      generation: policy.generation,
      selfLink: `${link}?ver=${this.version}`,
      ...attrs,
      references: {},
      rulesReference: {
        link: `${link}/rules?ver=${this.version}`,
        isSubcollection: true,
        // §7.2: deep, rules with their conditions and actions.
        ...(expand ? { items: rulesOf(policy).map((r) => this.renderRule(policy, r, true)) } : {}),
      },
    };
  }

  private renderRule(policy: StoredObject, rule: Record<string, unknown>, expand: boolean) {
    const link = `https://localhost/mgmt/tm/ltm/policy/${idOf(policy)}/rules/${String(rule.name)}`;
    const sub = (kind: 'conditions' | 'actions', items: Record<string, unknown>[]) => ({
      link: `${link}/${kind}?ver=${this.version}`,
      isSubcollection: true,
      ...(expand
        ? {
            items: items.map((item, index) => ({
              kind: `tm:ltm:policy:rules:${kind}:${kind}state`,
              fullPath: String(item.name ?? index),
              generation: policy.generation,
              selfLink: `${link}/${kind}/${String(item.name ?? index)}?ver=${this.version}`,
              ...(kind === 'conditions' ? conditionDefaults(item) : actionDefaults(item, this.version)),
              ...item,
              name: String(item.name ?? index),
            })),
          }
        : {}),
    });
    const { conditions, actions, ...rest } = rule;
    return {
      kind: 'tm:ltm:policy:rules:rulesstate',
      ...rest,
      name: String(rule.name),
      fullPath: String(rule.name),
      generation: policy.generation,
      selfLink: `${link}?ver=${this.version}`,
      ordinal: Number(rule.ordinal ?? 0),
      actionsReference: sub('actions', (actions as Record<string, unknown>[]) ?? []),
      conditionsReference: sub('conditions', (conditions as Record<string, unknown>[]) ?? []),
    };
  }
}

/**
 * What a recorded condition read lists besides what was sent (terraform-provider-bigip fixture,
 * 16.1.0; f5-cccl's 12.1 reads): `external`, `present`, `remote`, the path-segment `index` (0 unless
 * `pathSegment`, §7.2) and, on header conditions, `all: true`.
 */
function conditionDefaults(item: Record<string, unknown>): Record<string, unknown> {
  return {
    external: true,
    present: true,
    remote: true,
    index: 0,
    ...(item.httpHeader === true ? { all: true } : {}),
  };
}

/**
 * What a recorded action read lists besides what was sent: numbers as 0 (same fixtures) and, on a
 * forward to a pool, `select: true` and a `poolReference` (§7.2).
 */
function actionDefaults(item: Record<string, unknown>, version: string): Record<string, unknown> {
  const pool = typeof item.pool === 'string' ? item.pool : undefined;
  return {
    ...ACTION_DEFAULTS,
    ...(item.forward === true && pool
      ? {
          select: true,
          poolReference: {
            link: `https://localhost/mgmt/tm/ltm/pool/~${pool.slice(1).replaceAll('/', '~')}?ver=${version}`,
          },
        }
      : {}),
  };
}

/** What a recorded action read lists as 0 when not sent (same fixture). */
const ACTION_DEFAULTS = {
  code: 0,
  expirySecs: 0,
  length: 0,
  offset: 0,
  port: 0,
  status: 0,
  timeout: 0,
  vlanId: 0,
};

function idOf(policy: StoredObject): string {
  return `~${policy.fullPath.slice(1).replaceAll('/', '~')}`;
}

function inFilteredPartition(query: URLSearchParams, p: StoredObject): boolean {
  const partition = partitionFilter(query);
  return !partition || p.partition === partition;
}

export function rulesOf(policy: StoredObject): Record<string, unknown>[] {
  return [...((policy.attrs.rules as Record<string, unknown>[]) ?? [])].sort(
    (a, b) => Number(a.ordinal ?? 0) - Number(b.ordinal ?? 0),
  );
}

/** Applies a create or modify body: strategy read back by full path, rules kept, pools referenced must exist. */
function setAttributes(
  store: ConfigStore,
  policy: StoredObject,
  body: Record<string, unknown>,
  creating: boolean,
): void {
  const a = policy.attrs;
  for (const [k, v] of Object.entries(body)) {
    if (
      ['name', 'partition', 'subPath', 'legacy', 'createDraft', 'kind', 'fullPath', 'generation'].includes(k)
    )
      continue;
    a[k] = v;
  }
  if (creating) {
    a.strategy ??= '/Common/first-match';
    a.requires ??= [];
    a.controls ??= [];
    a.rules ??= [];
  }
  const strategy = String(a.strategy);
  if (!strategy.startsWith('/')) a.strategy = `/Common/${strategy}`;
  if (!Array.isArray(a.rules))
    throw new SimError(400, errors.invalidValue('simulator: rules must be a list'));
  for (const rule of a.rules as Record<string, unknown>[]) {
    if (typeof rule.name !== 'string' || !/^[A-Za-z0-9_.:%-]+$/.test(rule.name))
      throw new SimError(400, errors.invalidName(String(rule.name)));
    // §7.1: a condition sent without a case option is stored (and matched) case-insensitively.
    for (const condition of (rule.conditions as Record<string, unknown>[]) ?? [])
      if (condition.caseSensitive !== true && condition.caseInsensitive !== true)
        condition.caseInsensitive = true;
    for (const action of (rule.actions as Record<string, unknown>[]) ?? []) {
      // §7.4: before 14.0 mcpd reads an action's `code` back as 0.
      if ('code' in action && !keepsRedirectCode(store.traits)) action.code = 0;
      const pool = action.pool;
      if (typeof pool === 'string' && !store.get('ltm/pool', pool))
        throw new SimError(400, errors.foreignKey(pool, 'policy action pool', policy.fullPath, 'pool_FK'));
    }
  }
}
