import { describe, expect, it } from 'vitest';
import { writeSlotSeconds } from '../../../bench/support/device-bound.js';
import type { CallRecord } from '../../../local/bigip-simulator/control-api.js';
import { TIMING_MODELS } from '../../../local/bigip-simulator/timing-model.js';

const call = (method: string, path: string, transactionId?: string): CallRecord => ({
  at: 0,
  signed: false,
  method,
  path,
  query: '',
  status: 200,
  ms: 0,
  ...(transactionId === undefined ? {} : { transactionId }),
});

describe('the write slot a scenario used', () => {
  it('counts writes and commits under the model, not reads, logins or enlisted commands', () => {
    const calls = [
      call('POST', '/mgmt/shared/authn/login'),
      call('GET', '/mgmt/tm/ltm/pool/~P~p'),
      call('POST', '/mgmt/tm/ltm/pool'),
      call('POST', '/mgmt/tm/transaction'),
      call('DELETE', '/mgmt/tm/ltm/node/~Common~10.0.0.1', '77'),
      call('DELETE', '/mgmt/tm/ltm/node/~Common~10.0.0.2', '77'),
      call('DELETE', '/mgmt/tm/ltm/node/~Common~10.0.0.3', '77'),
      call('PATCH', '/mgmt/tm/transaction/77'),
      call('POST', '/mgmt/tm/cm'),
    ];
    // A pool write 150, the transaction's create 150, its commit 300 + 3 × 20, the sync command 150: 810 ms.
    expect(writeSlotSeconds(TIMING_MODELS.real, calls)).toBe(0.81);
    expect(writeSlotSeconds(TIMING_MODELS.zero, calls)).toBe(0);
  });
});
