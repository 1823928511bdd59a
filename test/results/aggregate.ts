import t from 'tap';
import { aggregateMessageStatus, worstOf, AGGREGATE_ORDER } from '../../src/results/aggregate.js';
import type { MessageStatus, SegmentStatus } from '../../src/domain/types.js';

type Row = [SegmentStatus[], MessageStatus | undefined, string];

t.test('mode all', async (t) => {
  const rows: Row[] = [
    [[], undefined, 'no segments'],
    [['delivered'], 'delivered', 'single delivered'],
    [['delivered', 'delivered', 'delivered'], 'delivered', 'all delivered'],
    [['delivered', 'submitted'], undefined, 'one still without receipt'],
    [['delivered', 'enroute'], undefined, 'intermediate receipt is not final'],
    [['delivered', 'accepted'], undefined, 'ACCEPTD is not final'],
    [['queued', 'queued'], undefined, 'not sent'],
    [['delivered', 'undeliverable'], 'undeliverable', 'one undeliverable'],
    [['delivered', 'unknown'], 'unknown', 'unknown beats delivered'],
    [['expired', 'undeliverable'], 'undeliverable', 'undeliverable beats expired'],
    [['failed', 'expired'], 'expired', 'expired beats failed'],
    [['unknown', 'failed'], 'failed', 'failed beats unknown'],
    [['undeliverable', 'rejected', 'delivered'], 'rejected', 'rejected is worst'],
    [['rejected', 'submitted'], undefined, 'all: waits for every segment'],
    [['canceled', 'canceled'], 'canceled', 'all canceled'],
    [['delivered', 'canceled'], 'canceled', 'canceled ranks above delivered'],
    [['unknown', 'canceled'], 'unknown', 'unknown ranks above canceled'],
  ];
  for (const [segs, want, name] of rows) t.equal(aggregateMessageStatus(segs, 'all'), want, name);
});

t.test('mode any', async (t) => {
  const rows: Row[] = [
    [[], undefined, 'no segments'],
    [['submitted', 'submitted'], undefined, 'no receipt yet'],
    [['delivered', 'submitted', 'submitted'], 'delivered', 'one receipt, delivered'],
    [['submitted', 'submitted', 'delivered'], 'delivered', 'receipt on the last segment only'],
    [['delivered', 'enroute'], 'delivered', 'other segment only has an intermediate receipt'],
    [['delivered', 'accepted'], 'delivered', 'accepted counts as on the wire'],
    [['delivered', 'delivered'], 'delivered', 'all delivered'],
    [['delivered', 'queued'], undefined, 'a segment not yet sent holds it'],
    [['delivered', 'submitting'], undefined, 'a segment being submitted holds it'],
    [['undeliverable', 'submitted'], 'undeliverable', 'failure, none delivered: worst now'],
    [['expired', 'submitted', 'unknown'], 'expired', 'worst of the finals'],
    [['delivered', 'undeliverable'], 'undeliverable', 'delivered + failure: not whole, worst'],
    [['delivered', 'rejected', 'submitted'], 'rejected', 'rejected at submit, other delivered'],
    [['rejected', 'queued'], undefined, 'waits for segments still to be sent'],
    [['unknown', 'submitted'], 'unknown', 'receipt UNKNOWN'],
    [['canceled', 'canceled'], 'canceled', 'canceled'],
  ];
  for (const [segs, want, name] of rows) t.equal(aggregateMessageStatus(segs, 'any'), want, name);
});

t.test('order', async (t) => {
  t.same(AGGREGATE_ORDER, ['rejected', 'undeliverable', 'expired', 'failed', 'unknown', 'canceled', 'delivered']);
  t.equal(worstOf([]), undefined);
  t.equal(worstOf(['delivered', 'failed', 'unknown']), 'failed');
});
