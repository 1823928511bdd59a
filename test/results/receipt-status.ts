import t from 'tap';
import { receiptToStatus } from '../../src/results/receipt-status.js';
import { RECEIPT_STATS } from '../../src/results/receipt-parse.js';

t.test('receipt stat → status, exactly as SPEC 3', async (t) => {
  const table = {
    DELIVRD: 'delivered',
    UNDELIV: 'undeliverable',
    DELETED: 'undeliverable',
    EXPIRED: 'expired',
    REJECTD: 'rejected',
    UNKNOWN: 'unknown',
    ACCEPTD: 'accepted',
    ENROUTE: 'enroute',
  } as const;
  for (const stat of RECEIPT_STATS) t.equal(receiptToStatus(stat), table[stat], stat);
});
