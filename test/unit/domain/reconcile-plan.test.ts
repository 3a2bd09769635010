import { describe, expect, it } from 'vitest';
import type { ApplyPlan } from '../../../functions/domain/bigip-apply-plan.js';
import type { BigIpObject } from '../../../functions/domain/bigip-objects.js';
import {
  describeDrift,
  findOrphans,
  isOurName,
  isTenantPartition,
  orphanPlan,
} from '../../../functions/domain/reconcile-plan.js';

const id = '0c6e4d2a-9b1f-4e8a-8c3d-2f1e0a9b8c7d';
const o = (kind: BigIpObject['kind'], name: string, extra: Partial<BigIpObject> = {}): BigIpObject => ({
  kind,
  partition: 'Project_t1',
  name,
  attrs: {},
  ...extra,
});

describe('our names', () => {
  it.each([
    [`Project_${id}`, true],
    [`Project_${id}_cookie`, true],
    [`Project_${id}x`, false],
    [`Other_${id}`, false],
    ['Project_handmade', false],
    [`project_${id}`, false],
    ['10.0.0.1', false],
    [`wrapper_policy_${id}`, true],
    ['wrapper_policy', false],
    ['Project_0123456789abcdef_0123456789ab.crt', true],
    ['Project_0123456789abcdef_0123456789ab.chain.crt', true],
    ['Project_0123456789abcdef_0123456789ab.key', true],
    ['Project_0123456789abcdef_0123456789ab_s', true],
    ['Project_0123456789abcdef_0123456789ab.pem', false],
    ['Other_0123456789abcdef_0123456789ab.crt', false],
  ])('%s → %s', (name, ours) => {
    expect(isOurName('Project', name)).toBe(ours);
  });
});

describe('orphans', () => {
  it('live only in folders of the tenant-partition form <env>_<project id>', () => {
    expect(isTenantPartition('Project', 'Project_0123456789abcdef0123456789abcdef')).toBe(true);
    expect(isTenantPartition('Project', 'Project_11111111-2222-4333-8444-555555555555')).toBe(true);
    for (const name of [
      'Project_shared',
      'Project_',
      'Other_0123456789abcdef0123456789abcdef',
      'Project_0123456789abcdef0123456789abcdef_x',
    ])
      expect(isTenantPartition('Project', name), name).toBe(false);
  });

  it('are the objects named like ours that nothing desires, and nothing else', () => {
    const desired = o('pool', `Project_${id}`);
    const orphan = o('virtual', 'Project_11111111-2222-4333-8444-555555555555');
    const listed = [
      desired,
      orphan,
      o('pool', 'handmade'),
      o('monitor', `Other_${id}`, { monitorType: 'http' }),
    ];
    expect(findOrphans('Project', listed, new Set([`pool/Project_t1/Project_${id}`]))).toEqual([orphan]);
  });

  it('are removed dependents first, then the nodes their pools used, then the folder', () => {
    const pool = o('pool', `Project_${id}`);
    const members = new Map([
      [
        `pool/Project_t1/Project_${id}`,
        [
          o('member', '10.0.0.5:80', {
            pool: pool.name,
            nodePartition: 'Common',
            attrs: { address: '10.0.0.5' },
          }),
        ],
      ],
    ]);
    const plan = orphanPlan(
      [
        o('virtual-address', `Project_${id}`),
        pool,
        o('monitor', `Project_${id}`, { monitorType: 'http' }),
        o('virtual', `Project_${id}`),
      ],
      members,
      true,
    );
    expect(plan.commands.map((c) => `${c.op} ${c.object.kind}`)).toEqual([
      'delete virtual',
      'delete virtual-address',
      'delete pool',
      'delete monitor',
    ]);
    expect(plan.nodeCleanup).toEqual(['/Common/10.0.0.5']);
    expect(plan).toMatchObject({ atomic: false, removeFolder: true, createFolder: false });
  });
});

describe('drift as an operator reads it', () => {
  it('lists creates, changed fields and removals, and a member list written at once member by member', () => {
    const pool = o('pool', `Project_${id}`);
    const keep = o('member', '10.0.0.1:80', { pool: pool.name });
    const plan: ApplyPlan = {
      createFolder: true,
      commands: [
        { op: 'create', object: o('virtual', 'v') },
        { op: 'update', object: pool, changes: { monitor: '/P/m', loadBalancingMode: 'round-robin' } },
        {
          op: 'replace-members',
          object: pool,
          members: [keep, o('member', '10.0.0.3:80', { pool: pool.name })],
        },
        { op: 'delete', object: o('monitor', 'm', { monitorType: 'tcp' }) },
      ],
      atomic: true,
      nodeCleanup: [],
      removeFolder: false,
    };
    const before = new Map([
      [`pool/Project_t1/Project_${id}`, [keep, o('member', '10.0.0.2:80', { pool: pool.name })]],
    ]);
    expect(describeDrift(plan, before)).toEqual([
      { action: 'create', kind: 'folder', path: '/' },
      { action: 'create', kind: 'virtual', path: '/Project_t1/v' },
      {
        action: 'change',
        kind: 'pool',
        path: `/Project_t1/Project_${id}`,
        fields: ['loadBalancingMode', 'monitor'],
      },
      { action: 'create', kind: 'member', path: `/Project_t1/Project_${id}/10.0.0.3:80` },
      { action: 'remove', kind: 'member', path: `/Project_t1/Project_${id}/10.0.0.2:80` },
      { action: 'change', kind: 'member', path: `/Project_t1/Project_${id}/10.0.0.1:80` },
      { action: 'remove', kind: 'monitor', path: '/Project_t1/m' },
    ]);
  });
});
