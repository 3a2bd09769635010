import type { ResourceType } from './lbaas-request.js';
import { OctaviaFault } from './octavia-faults.js';
import type { OctaviaObject } from './octavia-views.js';

/**
 * Octavia's list semantics (docs/octavia-api.md, "Lists"): `fields=` keeps only the named
 * keys; any other parameter filters on that attribute; `sort=key:dir,...` or `sort_key`/`sort_dir`
 * orders (after them, `created_at` then `id`, ascending by default); `limit`, `marker` (the id of
 * the last object of the previous page) and `page_reverse` page; `tags`, `tags-any`, `not-tags`
 * and `not-tags-any` filter on tags; `*_links` carry the next and previous pages. Pure: the
 * service decides how many objects it reads (a page when it can, see octavia-api.ts).
 */

export type QueryParams = Record<string, string[]>;

export interface ListQuery {
  fields: string[] | undefined;
  filters: [string, string[]][];
  tags: { all: string[]; any: string[]; notAll: string[]; notAny: string[] };
  /** The order asked for, then Octavia's default keys. */
  sort: { key: string; dir: 'asc' | 'desc' }[];
  /** True when nothing but the default order was asked for. */
  defaultOrder: boolean;
  limit: number | undefined;
  marker: string | undefined;
  pageReverse: boolean;
  projectId: string | undefined;
}

/** Octavia's page size limit (`api_settings.pagination_max_limit`). */
const MAX_PAGE = 1000;
const AUXILIARY = new Set(['limit', 'marker', 'sort', 'sort_key', 'sort_dir', 'fields', 'page_reverse']);
const TAG_PARAMS = {
  tags: 'all',
  'tags-any': 'any',
  'not-tags': 'notAll',
  'not-tags-any': 'notAny',
} as const;

/** Attributes a list may filter on beyond an object's own scalar fields (its parents' ids). */
const PARENT_FILTERS: Partial<Record<ResourceType, string[]>> = {
  listener: ['loadbalancer_id'],
  pool: ['loadbalancer_id', 'listener_id', 'healthmonitor_id'],
  healthmonitor: ['pool_id'],
};

const one = (params: QueryParams, key: string) => params[key]?.at(-1);

function direction(value: string): 'asc' | 'desc' {
  const dir = value.toLowerCase();
  if (dir !== 'asc' && dir !== 'desc')
    throw new OctaviaFault(400, `Supplied sort direction '${value}' is not valid.`);
  return dir;
}

/**
 * The list query in the parameters. `attributes` are the keys an object of the type shows (what
 * may be filtered and sorted on); anything else is Octavia's 400.
 */
export function parseListQuery(
  type: ResourceType | undefined,
  params: QueryParams,
  attributes: readonly string[],
): ListQuery {
  const sortable = new Set(attributes);
  const sort: ListQuery['sort'] = [];
  const sortParam = one(params, 'sort');
  const sortKeys = one(params, 'sort_key');
  if (sortParam) {
    for (const part of sortParam.split(',')) {
      const [key, dir, ...rest] = part.split(':');
      if (!key || rest.length > 0) throw new OctaviaFault(400, `Supplied sort key '${part}' is not valid.`);
      sort.push({ key, dir: dir === undefined ? 'asc' : direction(dir) });
    }
  } else if (sortKeys) {
    const dirs = (one(params, 'sort_dir') ?? '').split(',').filter(Boolean);
    for (const [i, key] of sortKeys.split(',').entries())
      sort.push({ key, dir: direction(dirs[i] ?? 'asc') });
  }
  for (const s of sort)
    if (!sortable.has(s.key)) throw new OctaviaFault(400, `Supplied sort key '${s.key}' is not valid.`);
  const defaultOrder = sort.length === 0;
  for (const key of ['created_at', 'id'])
    if (!sort.some((s) => s.key === key)) sort.push({ key, dir: 'asc' });

  const limitParam = one(params, 'limit');
  let limit: number | undefined = MAX_PAGE;
  if (limitParam !== undefined) {
    if (limitParam === 'infinite') limit = undefined;
    else if (!/^-?\d+$/.test(limitParam))
      throw new OctaviaFault(400, `Supplied pagination limit '${limitParam}' is not valid.`);
    else {
      const n = Number(limitParam);
      limit = n < 1 ? undefined : Math.min(n, MAX_PAGE);
    }
  }

  const filters: [string, string[]][] = [];
  const tags: ListQuery['tags'] = { all: [], any: [], notAll: [], notAny: [] };
  let projectId: string | undefined;
  const filterable = new Set([...attributes, ...((type && PARENT_FILTERS[type]) ?? [])]);
  for (const [key, values] of Object.entries(params)) {
    if (AUXILIARY.has(key)) continue;
    if (key in TAG_PARAMS) {
      tags[TAG_PARAMS[key as keyof typeof TAG_PARAMS]].push(...values.flatMap((v) => v.split(',')));
      continue;
    }
    if (key === 'project_id' || key === 'tenant_id') {
      projectId = values.at(-1);
      continue;
    }
    if (!filterable.has(key))
      throw new OctaviaFault(400, 'One or more arguments are either duplicate or invalid');
    filters.push([key, values]);
  }
  return {
    fields: params.fields?.flatMap((f) => f.split(',')),
    filters,
    tags,
    sort,
    defaultOrder,
    limit,
    marker: one(params, 'marker'),
    pageReverse: (one(params, 'page_reverse') ?? 'False').toLowerCase() === 'true',
    projectId,
  };
}

/** True when a query only pages through the default order (a page of an index serves it). */
export function isPlainPage(q: ListQuery): boolean {
  return (
    q.defaultOrder &&
    q.filters.length === 0 &&
    !q.pageReverse &&
    q.tags.all.length + q.tags.any.length + q.tags.notAll.length + q.tags.notAny.length === 0
  );
}

function matches(value: unknown, wanted: string): boolean {
  if (Array.isArray(value))
    return value.some((v) => matches(typeof v === 'object' && v ? (v as { id: unknown }).id : v, wanted));
  if (value === null || value === undefined) return wanted === '' || wanted.toLowerCase() === 'none';
  if (typeof value === 'boolean') return String(value) === wanted.toLowerCase();
  return String(value) === wanted;
}

/** The value a filter compares (a parent id filter looks into the object's parent lists). */
function filterValue(view: OctaviaObject, key: string): unknown {
  if (key === 'loadbalancer_id' && 'loadbalancers' in view) return view.loadbalancers;
  if (key === 'listener_id' && 'listeners' in view && !('listener_id' in view)) return view.listeners;
  if (key === 'pool_id' && 'pools' in view && !('pool_id' in view)) return view.pools;
  return view[key];
}

/** Keeps the objects every filter and tag condition accepts (a filter's values are alternatives). */
function filterViews(views: readonly OctaviaObject[], q: ListQuery): OctaviaObject[] {
  return views.filter((v) => {
    for (const [key, values] of q.filters)
      if (!values.some((w) => matches(filterValue(v, key), w))) return false;
    const tags = new Set((v.tags as string[] | undefined) ?? []);
    if (!q.tags.all.every((t) => tags.has(t))) return false;
    if (q.tags.any.length > 0 && !q.tags.any.some((t) => tags.has(t))) return false;
    if (q.tags.notAll.length > 0 && q.tags.notAll.every((t) => tags.has(t))) return false;
    if (q.tags.notAny.some((t) => tags.has(t))) return false;
    return true;
  });
}

function compare(a: unknown, b: unknown): number {
  // Octavia sorts NULL as the empty string.
  const x = a ?? '';
  const y = b ?? '';
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'boolean' && typeof y === 'boolean') return Number(x) - Number(y);
  const s = String(x);
  const t = String(y);
  return s < t ? -1 : s > t ? 1 : 0;
}

function sortViews(views: readonly OctaviaObject[], q: ListQuery): OctaviaObject[] {
  return [...views].sort((a, b) => {
    for (const { key, dir } of q.sort) {
      const c = compare(a[key], b[key]);
      if (c !== 0) return dir === 'asc' ? c : -c;
    }
    return 0;
  });
}

/** The page after (or, reversed, before) the marker in an ordered list; the marker must be in it. */
function pageOf(ordered: readonly OctaviaObject[], q: ListQuery): OctaviaObject[] {
  let items = [...ordered];
  if (q.marker !== undefined) {
    const at = items.findIndex((v) => v.id === q.marker);
    if (at < 0) throw new OctaviaFault(400, `Supplied pagination marker '${q.marker}' is not valid.`);
    items = q.pageReverse ? items.slice(0, at) : items.slice(at + 1);
  }
  return q.limit === undefined ? items : items.slice(0, q.limit);
}

/** Keeps only the fields asked for (all of them when none was). */
export function selectFields(view: OctaviaObject, fields: readonly string[] | undefined): OctaviaObject {
  if (!fields) return view;
  return Object.fromEntries(Object.entries(view).filter(([k]) => fields.includes(k)));
}

/** Octavia's `<resources>_links`: the previous page (when a marker was given) and the next (when the page is full). */
export function pageLinks(
  page: readonly OctaviaObject[],
  q: ListQuery,
  params: QueryParams,
  url: string,
): { href: string; rel: string }[] {
  if (page.length === 0 || q.limit === undefined) return [];
  const base = [`limit=${q.limit}`];
  const sortParam = one(params, 'sort');
  const sortKey = one(params, 'sort_key');
  if (sortParam) base.push(`sort=${sortParam}`);
  if (sortKey) base.push(`sort_key=${sortKey}`);
  const links: { href: string; rel: string }[] = [];
  if (q.marker !== undefined)
    links.push({
      href: `${url}?${[...base, `marker=${page[0]?.id}`, 'page_reverse=True'].join('&')}`,
      rel: 'previous',
    });
  if (page.length >= q.limit)
    links.push({ href: `${url}?${[...base, `marker=${page.at(-1)?.id}`].join('&')}`, rel: 'next' });
  return links;
}

/** The whole list operation on objects already read: filter, order, page, fields, links. */
export function listViews(
  views: readonly OctaviaObject[],
  q: ListQuery,
  params: QueryParams,
  url: string,
): { items: OctaviaObject[]; links: { href: string; rel: string }[] } {
  const page = pageOf(sortViews(filterViews(views, q), q), q);
  return { items: page.map((v) => selectFields(v, q.fields)), links: pageLinks(page, q, params, url) };
}
