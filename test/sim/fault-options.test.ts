/** The simulator's wire-fault modes as `xinge sim` options, and the validity and backoff helpers they are tested with. */
import t from 'tap';
import { parseSimOptions, runSimCli } from '../../src/sim/run-sim.js';
import { formatAbsoluteValidity, formatRelativeValidity, parseRelativeValidity, validityPeriodFor } from '../../src/carriers/smpp/validity.js';
import { Backoff, backoffDelayMs } from '../../src/domain/backoff.js';
import { encodeSubmitSm } from '../../src/carriers/smpp/codec.js';
import smpp from 'smpp';

t.test('xinge sim: --silent-after, --drop-after-bind-ms, --malformed-id, --wrong-resp', async (t) => {
  const o = parseSimOptions({ silentAfter: '40', dropAfterBindMs: '100', malformedId: 'no-nul', wrongResp: 'generic_nack:10' });
  t.same([o.silentAfterSubmits, o.dropAfterBindMs, o.malformedMessageId, o.wrongResp], [40, 100, 'no-nul', { command: 'generic_nack', every: 10 }]);
  t.same(parseSimOptions({ wrongResp: 'enquire_link_resp' }).wrongResp, { command: 'enquire_link_resp', every: 1 });
  t.throws(() => parseSimOptions({ malformedId: 'short' }), RangeError);
  t.throws(() => parseSimOptions({ wrongResp: 'submit_sm_resp' }), RangeError);
  t.throws(() => parseSimOptions({ wrongResp: 'generic_nack:0' }), RangeError);
  t.throws(() => parseSimOptions({ silentAfter: '-1' }), RangeError);
  const out: string[] = [];
  const sink = { write: (s: string) => out.push(s) } as unknown as NodeJS.WritableStream;
  const h = await runSimCli(['--port', '0', '--silent-after', '3', '--drop-after-bind-ms=250', '--malformed-id', 'too-long', '--wrong-resp', 'unbind_resp:2'], sink);
  t.teardown(() => h.stop());
  t.same([h.sim.options.silentAfterSubmits, h.sim.options.dropAfterBindMs, h.sim.options.malformedMessageId, h.sim.options.wrongResp], [3, 250, 'too-long', { command: 'unbind_resp', every: 2 }]);
  t.match(out.join(''), /listening/);
});

t.test('validity_period formats', async (t) => {
  t.equal(formatRelativeValidity(300), '000000000500000R');
  t.equal(formatRelativeValidity(86400 + 3661), '000001010101000R');
  t.equal(formatRelativeValidity(200 * 86400), '000099235959000R', 'capped at 99 days');
  t.equal(parseRelativeValidity('000001010101000R'), 86400 + 3661);
  t.equal(parseRelativeValidity('261206061532000+'), undefined);
  t.equal(formatAbsoluteValidity(Date.UTC(2026, 11, 6, 6, 15, 32, 900)), '261206061532000+');
  t.equal(validityPeriodFor('relative', 299_999, 0), '000000000459000R', 'rounded down: never longer than what is left');
  t.equal(validityPeriodFor('relative', 10, 0), '000000000001000R', 'at least a second');
  t.equal(validityPeriodFor('none', 300_000, 0), '');
  t.equal(validityPeriodFor('relative', undefined, 0), '');
  t.equal(validityPeriodFor('absolute', 60_000, Date.UTC(2026, 0, 1)), '260101000100000+');
});

t.test('submit_sm with a validity_period: the same bytes as node-smpp', async (t) => {
  const f = {
    sourceAddrTon: 0, sourceAddrNpi: 1, sourceAddr: '1069', destAddrTon: 1, destAddrNpi: 1, destinationAddr: '8613800138000',
    esmClass: 0, registeredDelivery: 1, dataCoding: 0, shortMessage: Buffer.from('hi'), validityPeriod: '000000000500000R',
  };
  const theirs = new smpp.PDU('submit_sm', {
    sequence_number: 7, source_addr_ton: 0, source_addr_npi: 1, source_addr: '1069', dest_addr_ton: 1, dest_addr_npi: 1,
    destination_addr: '8613800138000', esm_class: 0, registered_delivery: 1, data_coding: 0, short_message: Buffer.from('hi'),
    validity_period: '000000000500000R',
  }).toBuffer();
  t.same(encodeSubmitSm(7, f), theirs);
  t.throws(() => encodeSubmitSm(7, { ...f, validityPeriod: '5m' }), { code: 'smpp_encode' });
});

t.test('the shared backoff: exponential, equal jitter, capped; reset only when told', async (t) => {
  const p = { initialMs: 200, maxMs: 30000 };
  t.same([1, 2, 3, 4].map((a) => backoffDelayMs(a, p, () => 0)), [100, 200, 400, 800], 'floor base/2');
  t.same([1, 2, 3, 4].map((a) => backoffDelayMs(a, p, () => 1)), [200, 400, 800, 1600]);
  t.equal(backoffDelayMs(100, p, () => 1), 30000, 'capped');
  t.equal(backoffDelayMs(5000, p, () => 0.5), 22500, 'no overflow for huge attempt numbers');
  const b = new Backoff(p, () => 1);
  t.same([b.next(), b.next(), b.next()], [200, 400, 800]);
  t.equal(b.failures, 3);
  b.reset();
  t.equal(b.next(), 200);
});
