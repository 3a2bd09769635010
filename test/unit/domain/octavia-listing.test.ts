import { describe, expect, it } from 'vitest';
import { type ListQuery, listViews, parseListQuery } from '../../../functions/domain/octavia-listing.js';

const ATTRS = ['id', 'name', 'description', 'admin_state_up', 'created_at', 'tags', 'protocol_port'];
const q = (params: Record<string, string[]>): ListQuery => parseListQuery('listener', params, ATTRS);
const url = 'http://api/v2/lbaas/listeners';

// Three objects created a second apart; b's description sorts first, c is disabled.
const views = [
  {
    id: 'id-1',
    name: 'a',
    description: 'B',
    admin_state_up: true,
    created_at: '2026-01-01T00:00:01',
    tags: ['x', 'y'],
    protocol_port: 80,
    loadbalancers: [{ id: 'lb1' }],
  },
  {
    id: 'id-2',
    name: 'b',
    description: 'A',
    admin_state_up: true,
    created_at: '2026-01-01T00:00:02',
    tags: ['y'],
    protocol_port: 81,
    loadbalancers: [{ id: 'lb2' }],
  },
  {
    id: 'id-3',
    name: 'c',
    description: 'C',
    admin_state_up: false,
    created_at: '2026-01-01T00:00:03',
    tags: [],
    protocol_port: 82,
    loadbalancers: [{ id: 'lb1' }],
  },
];
const ids = (params: Record<string, string[]>) =>
  listViews(views, q(params), params, url).items.map((v) => v.id);

describe('Octavia list semantics', () => {
  it('orders by created_at then id, ascending, by default', () => {
    expect(ids({})).toEqual(['id-1', 'id-2', 'id-3']);
  });

  it('sorts by sort=key:dir and by sort_key/sort_dir', () => {
    expect(ids({ sort: ['description:desc'] })).toEqual(['id-3', 'id-1', 'id-2']);
    expect(ids({ sort: ['description:asc'] })).toEqual(['id-2', 'id-1', 'id-3']);
    expect(ids({ sort_key: ['protocol_port'], sort_dir: ['desc'] })).toEqual(['id-3', 'id-2', 'id-1']);
  });

  it('refuses an unknown sort key, a bad direction, a bad limit and an unknown filter with 400', () => {
    for (const params of [
      { sort: ['nope:asc'] },
      { sort: ['name:sideways'] },
      { limit: ['x'] },
      { nope: ['1'] },
    ])
      expect(() => q(params)).toThrow(expect.objectContaining({ status: 400 }));
  });

  it('filters on attributes (booleans as text, a parent id in the parent list)', () => {
    expect(ids({ admin_state_up: ['true'] })).toEqual(['id-1', 'id-2']);
    expect(ids({ admin_state_up: ['False'] })).toEqual(['id-3']);
    expect(ids({ description: ['A'] })).toEqual(['id-2']);
    expect(ids({ loadbalancer_id: ['lb1'] })).toEqual(['id-1', 'id-3']);
  });

  it('filters on tags: all of, any of, not all of, none of', () => {
    expect(ids({ tags: ['x,y'] })).toEqual(['id-1']);
    expect(ids({ 'tags-any': ['x', 'y'] })).toEqual(['id-1', 'id-2']);
    expect(ids({ 'not-tags': ['x,y'] })).toEqual(['id-2', 'id-3']);
    expect(ids({ 'not-tags-any': ['y'] })).toEqual(['id-3']);
  });

  it('keeps only the fields asked for, repeated or comma separated', () => {
    const out = listViews(views, q({ fields: ['id', 'name'] }), { fields: ['id', 'name'] }, url);
    expect(out.items[0]).toEqual({ id: 'id-1', name: 'a' });
    expect(listViews(views, q({ fields: ['name,admin_state_up'] }), {}, url).items[2]).toEqual({
      name: 'c',
      admin_state_up: false,
    });
  });

  it('pages with limit and marker, with next and previous links', () => {
    const first = listViews(views, q({ limit: ['2'] }), { limit: ['2'] }, url);
    expect(first.items.map((v) => v.id)).toEqual(['id-1', 'id-2']);
    expect(first.links).toEqual([{ rel: 'next', href: `${url}?limit=2&marker=id-2` }]);
    const params = { limit: ['2'], marker: ['id-2'] };
    const second = listViews(views, q(params), params, url);
    expect(second.items.map((v) => v.id)).toEqual(['id-3']);
    expect(second.links).toEqual([{ rel: 'previous', href: `${url}?limit=2&marker=id-3&page_reverse=True` }]);
    const back = { limit: ['2'], marker: ['id-3'], page_reverse: ['True'] };
    expect(listViews(views, q(back), back, url).items.map((v) => v.id)).toEqual(['id-1', 'id-2']);
  });

  it('refuses a marker that is not in the list with 400', () => {
    expect(() => listViews(views, q({ marker: ['gone'] }), {}, url)).toThrow(
      expect.objectContaining({ status: 400, message: "Supplied pagination marker 'gone' is not valid." }),
    );
  });

  it('takes project_id apart from the filters (the policy decides it)', () => {
    const parsed = q({ project_id: ['p1'], name: ['a'] });
    expect(parsed.projectId).toBe('p1');
    expect(parsed.filters).toEqual([['name', ['a']]]);
  });
});

describe('Octavia list semantics on values of every kind', () => {
  const objects = [
    {
      id: 'a',
      name: null,
      connection_limit: 5,
      admin_state_up: false,
      default_pool_id: null,
      pools: [{ id: 'p1' }],
    },
    {
      id: 'b',
      name: 'x',
      connection_limit: -1,
      admin_state_up: true,
      default_pool_id: 'p2',
      pools: [{ id: 'p2' }],
    },
    { id: 'c', name: 'y', connection_limit: 100, admin_state_up: true, default_pool_id: 'p1', pools: [] },
  ];
  const attrs = ['id', 'name', 'connection_limit', 'admin_state_up', 'default_pool_id', 'created_at'];
  const list = (params: Record<string, string[]>, type: 'listener' | 'healthmonitor' = 'listener') =>
    listViews(objects, parseListQuery(type, params, attrs), params, url).items.map((v) => v.id);

  it('sorts numbers as numbers, booleans false first, and null as the empty string', () => {
    expect(list({ sort: ['connection_limit'] })).toEqual(['b', 'a', 'c']);
    expect(list({ sort: ['connection_limit:desc'] })).toEqual(['c', 'a', 'b']);
    expect(list({ sort: ['admin_state_up:desc,id:desc'] })).toEqual(['c', 'b', 'a']);
    expect(list({ sort_key: ['name'], sort_dir: ['DESC'] })).toEqual(['c', 'b', 'a']);
    expect(list({ sort_key: ['admin_state_up,name'] })).toEqual(['a', 'b', 'c']);
  });

  it('a null attribute matches an empty or "None" filter; a number matches its text; several values are alternatives', () => {
    expect(list({ default_pool_id: ['None'] })).toEqual(['a']);
    expect(list({ name: [''] })).toEqual(['a']);
    expect(list({ connection_limit: ['-1'] })).toEqual(['b']);
    expect(list({ connection_limit: ['5', '100'] })).toEqual(['a', 'c']);
    expect(list({ admin_state_up: ['TRUE'] })).toEqual(['b', 'c']);
    // A monitor's pool_id filter looks into its pools list.
    expect(list({ pool_id: ['p2'] }, 'healthmonitor')).toEqual(['b']);
  });

  it('a page with limit carries sort parameters in its links; a limit above 1000 is 1000; no links without a page', () => {
    const params = { limit: ['1'], sort_key: ['connection_limit'], sort_dir: ['asc'] };
    const out = listViews(objects, parseListQuery('listener', params, attrs), params, url);
    expect(out.links).toEqual([{ href: `${url}?limit=1&sort_key=connection_limit&marker=b`, rel: 'next' }]);
    expect(parseListQuery('listener', { limit: ['5000'] }, attrs).limit).toBe(1000);
    const none = { name: ['nobody'], limit: ['1'] };
    expect(listViews(objects, parseListQuery('listener', none, attrs), none, url)).toEqual({
      items: [],
      links: [],
    });
  });
});
