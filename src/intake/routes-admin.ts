/** Admin (carriers, pause/resume), opt-out list, and OTP endpoints. */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { normalizeMsisdn } from '../domain/msisdn.js';
import type { ClientConfig, Config } from '../config/schema.js';
import type { Store } from '../store/index.js';
import type { CarrierRuntime } from '../scheduler/dispatcher.js';
import { requireNotDraining, requireScope } from './http-server.js';
import type { LaneDepths } from './lane-gate.js';
import type { OtpService } from './otp-service.js';

export interface AdminRoutesDeps {
  clients: () => readonly ClientConfig[];
  config: () => Config;
  carriers: Map<string, CarrierRuntime>;
  lanes: LaneDepths;
  store: Store;
  now: () => number;
  wake: () => void;
  otp: OtpService;
  isDraining: () => boolean;
  /** Carriers added or removed by a reload, waiting for a restart. */
  pendingRestart?: () => string[];
}

export function registerAdminRoutes(app: FastifyInstance, d: AdminRoutesDeps): void {
  const admin = requireScope(d.clients, 'admin');

  app.get('/v1/admin/carriers', { preHandler: admin }, async () => ({
    queue: d.lanes.get(),
    pending_restart: d.pendingRestart?.() ?? [],
    carriers: [...d.carriers.values()].map((rt) => ({
      id: rt.config.id,
      paused: rt.paused,
      up: rt.connector.isUp(),
      current_tps: rt.rate.rate,
      configured_tps: rt.config.tps,
      window: (rt.running ?? rt.config).window,
      in_flight: rt.connector.binds().reduce((s, b) => s + b.inFlight, 0),
      binds: rt.connector.binds().map((b) => ({ index: b.bindIndex, mode: b.mode, state: b.state, in_flight: b.inFlight, window: b.window })),
      // Changed by a reload, applied when the binds are made again (the values above are the running ones).
      pending_restart: rt.pendingRestart ?? [],
    })),
  }));

  const setPaused = (paused: boolean) => async (req: { params: { id: string } }) => {
    const rt = d.carriers.get(req.params.id);
    if (rt === undefined) throw new ApiError('not_found', 'unknown carrier', { field: 'id' });
    rt.paused = paused;
    d.wake();
    return { id: rt.config.id, paused };
  };
  app.post<{ Params: { id: string } }>('/v1/admin/carriers/:id/pause', { preHandler: admin }, setPaused(true));
  app.post<{ Params: { id: string } }>('/v1/admin/carriers/:id/resume', { preHandler: admin }, setPaused(false));

  const number = (v: unknown, field: string) => normalizeMsisdn(v, d.config().policy.allowed_countries, field);
  app.get<{ Querystring: { after?: string; limit?: string } }>('/v1/optouts', { preHandler: admin }, async (req) => {
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 100) || 100));
    const items = d.store.aux.listOptOuts(limit, req.query.after ?? '');
    return { optouts: items.map((i) => ({ number: i.number, source: i.source, created_at: new Date(i.createdAt).toISOString() })) };
  });
  app.get<{ Params: { number: string } }>('/v1/optouts/:number', { preHandler: admin }, async (req) => {
    const n = number(req.params.number, 'number');
    if (!d.store.aux.isOptedOut(n)) throw new ApiError('not_found', 'number is not on the opt-out list', { field: 'number' });
    return { number: n, opted_out: true };
  });
  app.post('/v1/optouts', { preHandler: admin }, async (req, reply) => {
    const body = req.body as { number?: unknown } | undefined;
    const n = number(body?.number, 'number');
    const added = await d.store.commit.run(() => d.store.aux.addOptOut(n, 'api', d.now()));
    return reply.code(added ? 201 : 200).send({ number: n, opted_out: true });
  });
  app.delete<{ Params: { number: string } }>('/v1/optouts/:number', { preHandler: admin }, async (req) => {
    const n = number(req.params.number, 'number');
    const removed = await d.store.commit.run(() => d.store.aux.removeOptOut(n));
    if (!removed) throw new ApiError('not_found', 'number is not on the opt-out list', { field: 'number' });
    return { number: n, opted_out: false };
  });

  const otp = [requireNotDraining(d.isDraining), requireScope(d.clients, 'otp')];
  app.post('/v1/otp', { preHandler: otp }, async (req, reply) => reply.code(202).send(await d.otp.send(req.body, req.client!)));
  app.post('/v1/otp/verify', { preHandler: requireScope(d.clients, 'otp') }, async (req) => d.otp.verify(req.body, req.client!));
}
