/**
 * The SMPP server (SPEC 8), assembled: listener, accounts, submit intake, the durable
 * deliver_sm forwarder, carriers' outbind, metrics. app.ts calls createSmppServer once and
 * hands it the two results seams (a final status, a reply attributed to a client).
 */
import type { Logger } from 'pino';
import type { InboundDeliver } from '../carriers/connector.js';
import { OutbindAcceptor } from '../carriers/smpp/outbind.js';
import { statusName } from '../carriers/smpp/command-status.js';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { StatusEvent } from '../results/writer.js';
import type { Store } from '../store/index.js';
import type { FinalizedMessage } from '../store/types.js';
import { AccountRegistry, clientNameOf, type SmppServerConfig } from './accounts.js';
import { DeliverForwarder } from './forwarder.js';
import { SmppListener } from './listener.js';
import { createSmppServerMetrics } from './metrics.js';
import type { ServerSession } from './server-session.js';
import { SubmitIntake, type SubmitPipeline } from './submit-intake.js';

export interface SmppServerDeps {
  config: () => Config;
  store: Store;
  /** The SubmitService the HTTP routes use. */
  pipeline: () => SubmitPipeline;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** A deliver_sm from a carrier over an outbind connection: into the app's receipt/MO path. */
  carrierDeliver: (ev: InboundDeliver) => void;
}

export interface SmppServer {
  start(): Promise<number>;
  stop(graceMs: number): Promise<void>;
  /** Inside the transaction that made a message final: owe its receipt to an SMPP client. */
  statusChanged(m: FinalizedMessage, e: StatusEvent): void;
  /** Inside the transaction that stored a reply attributed to `client`: owe it as a deliver_sm. */
  replyReceived(ev: { client: string; from: string; to: string; text: string }): void;
  /** Where the client cut a multipart it submitted (the dispatcher sends the parts as they came). */
  partCuts(seg: { client: string; messageId: string }): readonly number[] | undefined;
  /** The client (`smpp:<system_id>`) owning a source extension, if an account does. */
  extensionOwner(ext: string): string | undefined;
  reload(next: Config): void;
}

/** undefined when smpp_server is absent or disabled. */
export function createSmppServer(d: SmppServerDeps): SmppServer | undefined {
  const initial = d.config().smpp_server;
  if (initial === undefined || !initial.enabled) return undefined;
  const serverCfg = (): SmppServerConfig => d.config().smpp_server ?? initial;
  const log = d.logger.child({ component: 'smpp-server' });
  const accounts = new AccountRegistry(initial);
  const bound = new Map<string, Set<ServerSession>>();
  const sessionsOf = (sid: string): readonly ServerSession[] => [...(bound.get(sid) ?? [])];
  const label = (sid: string) => (accounts.account(sid) !== undefined ? sid : 'unknown');
  const m = createSmppServerMetrics(d.metrics.registry, d.config().metrics.prefix, () => d.store.smppOutbox.counts(), () => new Map([...bound].map(([k, v]) => [k, v.size])));

  const forwarder = new DeliverForwarder({
    outbox: d.store.smppOutbox,
    commit: (fn) => d.store.commit.run(fn),
    sessions: sessionsOf,
    zone: () => d.config().policy.timezone,
    now: d.now,
    logger: log,
    sent: (sid, kind, result) => m.delivers.inc({ client: sid, kind, result }),
    // Well past a deliver_sm's wait for its resp: a live node keeps what it has on the wire.
    claimLeaseMs: () => Math.max(30_000, 3 * serverCfg().response_timeout_s * 1000),
  });
  const intake = new SubmitIntake({
    config: d.config,
    pipeline: d.pipeline,
    now: d.now,
    logger: log,
    outcome: (sid, result) => m.submits.inc({ client: sid, result }),
    keep: (id, cuts, receipts, key) => {
      d.store.smppOutbox.keepMessage(id, cuts, receipts);
      if (key !== '') d.store.smppOutbox.dropParts(key);
    },
    holdPart: (key, seq, total, text, id) => d.store.commit.run(() => d.store.smppOutbox.addPart(key, seq, total, text, id, d.now())),
    dropParts: (key) => d.store.commit.run(() => d.store.smppOutbox.dropParts(key)),
    staleParts: (before) => d.store.smppOutbox.staleParts(before),
    // Given out but never stored: a REJECTD receipt, durable like any other.
    abandoned: (sid, messageId, reason) => {
      log.info({ systemId: sid, messageId, reason }, 'smpp server: multipart message not stored');
      const now = d.now();
      void d.store.commit.run(() =>
        forwarder.owe(sid, { kind: 'receipt', messageId, to: '', from: '', status: 'rejected', errorCode: null, submittedAt: now, doneAt: now }),
      );
    },
  });
  const outbind = new OutbindAcceptor({
    carriers: () => d.config().carriers,
    logger: d.logger,
    onDeliver: d.carrierDeliver,
    onRefused: (carrier, reason) => m.outbindRefused.inc({ carrier, reason }),
  });

  const listener = new SmppListener({
    config: serverCfg,
    logger: log,
    hooks: {
      bind: (req) => {
        const v = accounts.admit(req.systemId, req.password, req.ip);
        if (!v.ok) m.bindFailures.inc({ client: label(req.systemId), status: statusName(v.status) });
        return v;
      },
      bound: (s) => {
        const sid = s.account!.system_id;
        let set = bound.get(sid);
        if (set === undefined) bound.set(sid, (set = new Set()));
        set.add(s);
        s.on('free', () => forwarder.schedule(sid));
        forwarder.schedule(sid);
      },
      submit: (s, pdu) => intake.submit(s.account!, pdu),
      outbind: (socket, pdu) => outbind.accept(socket, pdu),
      received: (s, command) => m.pdus.inc({ client: s.account?.system_id ?? 'unbound', command }),
    },
    closed: (s, reason) => {
      m.closed.inc({ reason });
      const sid = s.account?.system_id;
      if (sid === undefined) return;
      if (bound.get(sid)?.delete(s)) accounts.release(sid);
    },
  });

  let timer: NodeJS.Timeout | undefined;
  return {
    async start() {
      const port = await listener.start();
      // Retries (refused, timed out) and multiparts whose parts stopped coming.
      timer = setInterval(() => {
        intake.sweep();
        for (const sid of bound.keys()) forwarder.schedule(sid);
      }, 5000);
      timer.unref();
      log.info({ port, tls: serverCfg().tls }, 'smpp server listening');
      return port;
    },
    async stop(graceMs) {
      if (timer !== undefined) clearInterval(timer);
      forwarder.stop();
      await Promise.all([listener.stop(graceMs), outbind.stop(graceMs)]);
    },
    statusChanged(msg, e) {
      if (!msg.client.startsWith('smpp:')) return;
      const sid = msg.client.slice(5);
      if (accounts.account(sid) === undefined) return;
      // registered_delivery 0: no receipt; 2: only when it failed.
      const receipts = d.store.smppOutbox.takeMessage(msg.id)?.receipts ?? 1;
      if (receipts === 0 || (receipts === 2 && e.status === 'delivered')) return;
      const rec = d.store.messages.getMessage(msg.id);
      forwarder.owe(sid, {
        kind: 'receipt',
        messageId: msg.id,
        to: msg.to,
        from: rec?.from ?? '',
        status: e.status,
        errorCode: msg.errorCode,
        submittedAt: rec?.createdAt ?? e.at,
        doneAt: e.at,
      });
    },
    replyReceived(ev) {
      if (!ev.client.startsWith('smpp:')) return;
      const sid = ev.client.slice(5);
      if (accounts.account(sid) === undefined) return;
      forwarder.owe(sid, { kind: 'mo', from: ev.from, to: ev.to, text: ev.text });
    },
    partCuts(seg) {
      return seg.client.startsWith('smpp:') ? d.store.smppOutbox.getCuts(seg.messageId) : undefined;
    },
    extensionOwner(ext) {
      // The client may append its own digits after its extension, as HTTP clients do.
      const a = serverCfg().accounts.find((x) => x.source_extension !== undefined && x.source_extension !== '' && ext.startsWith(x.source_extension));
      return a === undefined ? undefined : clientNameOf(a.system_id);
    },
    reload(next) {
      if (next.smpp_server !== undefined) accounts.reload(next.smpp_server);
    },
  };
}
