/**
 * Who may bind to the SMPP server (SPEC 8): accounts by system_id, their password compared
 * in constant time, an optional IP allowlist, and bind counts (per account and in all).
 * Pure bookkeeping: no socket here; the session asks and answers with the status.
 */
import net from 'node:net';
import { Status } from '../carriers/smpp/command-status.js';
import type { Config } from '../config/schema.js';
import { secretEquals } from '../domain/secret-equals.js';

export type SmppServerConfig = NonNullable<Config['smpp_server']>;
export type SmppAccount = SmppServerConfig['accounts'][number];

/** Name under which an account's messages are stored (messages.client, metrics, logs). */
export function clientNameOf(systemId: string): string {
  return `smpp:${systemId}`;
}

/** `::ffff:127.0.0.1` (an IPv4 peer on a dual-stack socket) → `127.0.0.1`. */
export function plainIp(ip: string): string {
  return ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

function allowList(entries: readonly string[]): net.BlockList | undefined {
  if (entries.length === 0) return undefined;
  const list = new net.BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/') as [string, string | undefined];
    const family = net.isIPv6(addr) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, family);
    else list.addSubnet(addr, Number(bits), family);
  }
  return list;
}

export type BindVerdict = { ok: true; account: SmppAccount } | { ok: false; status: number; reason: string };

export class AccountRegistry {
  #cfg: SmppServerConfig;
  #lists = new Map<string, net.BlockList | undefined>();
  readonly #binds = new Map<string, number>();
  #total = 0;

  constructor(cfg: SmppServerConfig) {
    this.#cfg = cfg;
    this.reload(cfg);
  }

  /** New accounts and passwords (SIGHUP); binds already up stay. */
  reload(cfg: SmppServerConfig): void {
    this.#cfg = cfg;
    this.#lists = new Map(cfg.accounts.map((a) => [a.system_id, allowList(a.allowed_ips)]));
  }

  account(systemId: string): SmppAccount | undefined {
    return this.#cfg.accounts.find((a) => a.system_id === systemId);
  }

  /** Check a bind; on success the bind is counted until release(). */
  admit(systemId: string, password: string, ip: string): BindVerdict {
    const account = this.account(systemId);
    // The password is compared even for an unknown system_id, so timing does not tell them apart.
    const passwordOk = secretEquals(password, account?.password ?? '\u0000no account');
    if (account === undefined) return { ok: false, status: Status.ESME_RINVSYSID, reason: 'unknown system_id' };
    if (!passwordOk) return { ok: false, status: Status.ESME_RINVPASWD, reason: 'wrong password' };
    const list = this.#lists.get(systemId);
    const peer = plainIp(ip);
    if (list !== undefined && !list.check(peer, net.isIPv6(peer) ? 'ipv6' : 'ipv4')) {
      return { ok: false, status: Status.ESME_RBINDFAIL, reason: 'address not in allowed_ips' };
    }
    const n = this.#binds.get(systemId) ?? 0;
    if (n >= account.max_binds) return { ok: false, status: Status.ESME_RBINDFAIL, reason: `max_binds ${account.max_binds} reached` };
    if (this.#total >= this.#cfg.max_binds) return { ok: false, status: Status.ESME_RBINDFAIL, reason: 'server max_binds reached' };
    this.#binds.set(systemId, n + 1);
    this.#total++;
    return { ok: true, account };
  }

  release(systemId: string): void {
    const n = this.#binds.get(systemId) ?? 0;
    if (n <= 0) return;
    this.#binds.set(systemId, n - 1);
    this.#total--;
  }

  binds(systemId: string): number {
    return this.#binds.get(systemId) ?? 0;
  }
}
