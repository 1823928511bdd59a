/**
 * Caller-ID metrics (SPEC 14: caller-ID by status), registered on the daemon's registry:
 * - callerid_provider_responses_total{op,status}: every attempt, by HTTP status or error code;
 * - callerid_operations_total{op,result}: each API or poller operation by outcome;
 * - callerid_registrations{status}: registrations in the store by status, read at scrape;
 * - callerid_events_total{type}: webhook events recorded.
 */
import client, { type Registry } from 'prom-client';
import type { CallerIdStore } from './store.js';

export type OperationResult = 'ok' | 'deferred' | 'refused' | 'auth_failed' | 'invalid' | 'changed' | 'unchanged';

export interface CallerIdMetrics {
  providerResponse(op: string, status: string): void;
  operation(op: string, result: OperationResult): void;
  event(type: string): void;
}

const STATUSES = ['submitting', 'pending_review', 'approved', 'rejected', 'active', 'suspended', 'expired', 'refused', 'revoked'];

export function createCallerIdMetrics(registry: Registry, prefix: string, store: CallerIdStore): CallerIdMetrics {
  const provider = new client.Counter({
    name: `${prefix}callerid_provider_responses_total`,
    help: 'Caller-ID provider answers per attempt, by operation and HTTP status (or error code when there was none).',
    labelNames: ['op', 'status'],
    registers: [registry],
  });
  const ops = new client.Counter({
    name: `${prefix}callerid_operations_total`,
    help: 'Caller-ID operations (API and poller) by operation and result.',
    labelNames: ['op', 'result'],
    registers: [registry],
  });
  const events = new client.Counter({
    name: `${prefix}callerid_events_total`,
    help: 'Caller-ID webhook events recorded, by type.',
    labelNames: ['type'],
    registers: [registry],
  });
  new client.Gauge({
    name: `${prefix}callerid_registrations`,
    help: 'Caller-ID registrations in the store, by status.',
    labelNames: ['status'],
    registers: [registry],
    collect() {
      const counts = store.countByStatus();
      for (const s of new Set([...STATUSES, ...Object.keys(counts)])) this.set({ status: s }, counts[s] ?? 0);
    },
  });
  return {
    providerResponse: (op, status) => provider.inc({ op, status }),
    operation: (op, result) => ops.inc({ op, result }),
    event: (type) => events.inc({ type }),
  };
}
