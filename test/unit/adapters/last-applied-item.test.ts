import { describe, expect, it } from 'vitest';
import {
  decodeLastApplied,
  encodeLastApplied,
  toRecord,
} from '../../../functions/adapters/dynamodb-resource-store.js';

const records = {
  'member:P_a/P_b/10.0.0.5:80': {
    intent: 'PzbndfXFL67vICr81sftKQ',
    readBack: 'PzbndfXFL67vICr81sftKQ',
    tmos: '17.1.2.1',
  },
  'pool:P_a/P_b': { intent: 'LxaheQS6FVCOjmvjLn68hQ', readBack: 'x0Yq5b2kq1pXk8YyZ3m1hA', tmos: '' },
};

describe('last-applied records in a resource item', () => {
  it('keeps them as one string, a read-back equal to the intent left out, and reads them back whole', () => {
    const stored = encodeLastApplied(records);
    expect(typeof stored).toBe('string');
    expect(String(stored).match(/PzbndfXFL67vICr81sftKQ/g)).toHaveLength(1);
    expect(decodeLastApplied(stored)).toEqual(records);
    expect(decodeLastApplied(encodeLastApplied({}))).toEqual({});
  });

  it('reads the map of maps that items written before hold', () => {
    const item = {
      loadbalancerId: 'lb',
      type: 'pool',
      id: 'p',
      tenantId: 't',
      env: 'E',
      desired: {},
      provisioningStatus: 'ACTIVE',
      lastApplied: records,
    };
    expect(toRecord(item).lastApplied).toEqual(records);
    expect(toRecord({ ...item, lastApplied: encodeLastApplied(records) }).lastApplied).toEqual(records);
    const { lastApplied: _none, ...without } = item;
    expect(toRecord(without).lastApplied).toBeUndefined();
  });

  it('keeps the map when a key could not be told apart in the string', () => {
    const odd = { 'pool:P_a/with\ttab': { intent: 'i', readBack: 'r', tmos: '' } };
    expect(encodeLastApplied(odd)).toBe(odd);
  });
});
