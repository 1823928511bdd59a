/**
 * CPU per message of each store step on the hot path, outside the daemon:
 * `npx tsx bench/lib/store-micro.ts` (best of 5 rounds of 20,000 messages; the machine is noisy).
 */
import { openStore } from '../../src/store/index.js';
import type { ClaimedSegment } from '../../src/store/types.js';
import { rmSync } from 'node:fs';

const N = 20000;
const best = new Map<string, number>();
const cpu = () => { const u = process.cpuUsage(); return u.user + u.system; };
for (let round = 0; round < 5; round++) {
  rmSync('/tmp/xinge-store-micro', { recursive: true, force: true });
  const st = openStore({ path: '/tmp/xinge-store-micro/x.db' });
  const now = Date.now();
  let t = cpu();
  const lap = (name: string) => {
    const n = cpu();
    best.set(name, Math.min(best.get(name) ?? Infinity, (n - t) / N));
    t = n;
  };
  st.messages.transaction(() => {
    for (let i = 0; i < N; i++) st.messages.insertMessage({ id: `M${(1e12 + i).toString(36)}${round}`, client: 'c', category: 'notification', to: `+86138${String(i).padStart(8, '0')}`, text: '尊敬的客户，您的借款将于明日到期，请按时还款。', encoding: 'ucs2', segmentation: 'udh8', segments: 1, carrierId: 'sim', concatRef: 0, sendAt: now, expiresAt: now + 1e6, createdAt: now });
  });
  lap('insert');
  const claimed: ClaimedSegment[] = [];
  for (let k = 0; k < N / 200; k++) {
    const got = st.messages.peekDue('sim', 'notification', now + 1, 200, new Set());
    st.messages.transaction(() => st.messages.markClaimed(got.map((c) => c.id), got.map((c) => c.messageId), now));
    claimed.push(...got);
  }
  lap('peekDue(200)+markClaimed');
  st.messages.transaction(() => { for (const c of claimed) st.messages.markSubmitted(c.id, c.messageId, 1, String(c.id), now, false); });
  lap('markSubmitted');
  st.messages.transaction(() => {
    for (const c of claimed) {
      const s = st.messages.findSegmentByCarrierMsgId('sim', String(c.id))!;
      st.messages.setSegmentReceipt(s.id, 'delivered', now, 'DELIVRD', '000');
      st.messages.finalizeMessage(s.messageId, 'delivered', now);
    }
  });
  lap('receipt');
  if (claimed.length !== N) throw new Error(`claimed ${claimed.length}`);
  st.close();
}
let sum = 0;
for (const [k, v] of best) { console.log(k.padEnd(28), v.toFixed(1), 'cpu µs/msg'); sum += v; }
console.log('total'.padEnd(28), sum.toFixed(1), 'cpu µs/msg');
