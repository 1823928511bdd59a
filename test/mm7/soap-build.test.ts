/** The *Rsp answers, Faults and DeliveryReportReq as built, read back by the parser in both dialects. */
import t from 'tap';
import { buildDeliveryReportReq, buildFault, buildRsp, xmlEscape, type Mm7Dialect } from '../../src/mm7/soap-build.js';
import { parseMm7Xml } from '../../src/mm7/soap-parse.js';
import { messageStatusOfMmStatus } from '../../src/mm7/status-codes.js';

const rel6: Mm7Dialect = { namespace: 'http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4', version: '6.8.0', namespacePrefix: false };
const rel5: Mm7Dialect = { namespace: 'http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-5-MM7-1-3', version: '5.3.0', namespacePrefix: true };

t.test('each *Rsp in both dialects', async (t) => {
  for (const d of [rel6, rel5]) {
    for (const kind of ['DeliverRsp', 'DeliveryReportRsp', 'ReadReplyRsp'] as const) {
      const xml = buildRsp(d, kind, 'tx <1>', { code: 1000, text: 'Success' });
      t.match(parseMm7Xml(xml), { kind, statusCode: 1000, statusText: 'Success', transactionId: 'tx <1>', version: d.version, namespace: d.namespace });
      t.equal(xml.includes('mm7:'), d.namespacePrefix, `${kind} prefix ${d.namespacePrefix}`);
      t.match(xml, /mustUnderstand="1"/);
    }
    t.match(parseMm7Xml(buildRsp(d, 'SubmitRsp', 't', { code: 1000, text: 'Success' }, '0001')), { kind: 'SubmitRsp', messageId: '0001' });
  }
});

t.test('Fault with RSErrorRsp detail, and DeliveryReportReq', async (t) => {
  t.match(parseMm7Xml(buildFault(rel5, 'f1', 'Server', { code: 3000, text: 'Server error & more' })), { kind: 'Fault', faultCode: 'env:Server', statusCode: 3000, statusText: 'Server error & more', transactionId: 'f1', version: '5.3.0' });
  const dr = parseMm7Xml(buildDeliveryReportReq(rel6, { transactionId: 'd1', messageId: '041502073667', recipient: '8613800138000', sender: '10690001', timeStamp: Date.UTC(2026, 0, 1), mmStatus: 'Retrieved' }));
  t.match(dr, { kind: 'DeliveryReportReq', messageId: '041502073667', recipient: '8613800138000', sender: '10690001', mmStatus: 'Retrieved', timeStamp: '2026-01-01T08:00:00+08:00' });
  t.equal(xmlEscape('<a href="x">&</a>'), '&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
});

t.test('MMStatus mapping', async (t) => {
  const cases: Array<[string, string | undefined]> = [['Retrieved', 'delivered'], ['retrieved', 'delivered'], ['Read', 'delivered'], ['Expired', 'expired'], ['Rejected', 'rejected'], ['Unrecognised', 'rejected'], ['Deleted', 'undeliverable'], ['NotSupported', 'undeliverable'], ['Indeterminate', 'unknown'], ['Deferred', 'unknown'], ['Forwarded', undefined], ['Whatever', 'unknown']];
  for (const [mm, want] of cases) t.equal(messageStatusOfMmStatus(mm), want, mm);
});
