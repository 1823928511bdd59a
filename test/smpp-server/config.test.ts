/** smpp_server config: defaults, and errors naming their path. */
import t from 'tap';
import { parseConfig } from '../../src/config/load.js';

const yaml = (server: string) => `carriers:\n  - { id: c1, host: 127.0.0.1, port: 2775, system_id: x, password: y, outbind: true }\nsmpp_server:\n${server}`;

t.test('defaults when the section is present', async (t) => {
  const cfg = parseConfig(yaml('  accounts:\n    - { system_id: legacy, password: pw }\n'), {});
  const s = cfg.smpp_server!;
  t.equal(s.enabled, true);
  t.equal(s.port, 2778);
  t.equal(s.idle_timeout_s, 120);
  t.equal(s.accounts[0]!.window, 10);
  t.equal(s.accounts[0]!.tps, 50);
  t.equal(cfg.carriers[0]!.outbind, true);
});

t.test('tls without cert and key, an unknown key, a long system_id: errors naming the path', async (t) => {
  t.throws(() => parseConfig(yaml('  tls: true\n'), {}), /smpp_server\.tls/);
  t.throws(() => parseConfig(yaml('  accounts:\n    - { system_id: legacy, password: pw, colour: red }\n'), {}), /smpp_server\.accounts\[0\]/);
  t.throws(() => parseConfig(yaml('  accounts:\n    - { system_id: a-very-long-system-id, password: pw }\n'), {}), /smpp_server\.accounts\[0\]\.system_id/);
});
