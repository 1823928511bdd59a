/**
 * Cluster metrics (issue 21), registered on the daemon's registry with its prefix:
 * - `<prefix>cluster_bind_slots_held{carrier}`: bind slots of the account this node holds;
 * - `<prefix>cluster_tps_share{carrier}`: this node's share of the account's tps (0 with no slot);
 * - `<prefix>cluster_bind_slots_lost_total{carrier,reason}`: slots given up or lost, by reason
 *   (renew_failed and taken are the ones to alert on: the database was unreachable or slow);
 * - `<prefix>cluster_errors_total{code}`: failed lease, registry or pool work, by ClusterError code.
 */
import client, { type Registry } from 'prom-client';
import type { SlotLostReason } from './bind-slot-leases.js';

export interface ClusterMetrics {
  slotsHeld(carrier: string, n: number): void;
  tpsShare(carrier: string, rate: number): void;
  slotLost(carrier: string, reason: SlotLostReason): void;
  error(code: string): void;
}

export function createClusterMetrics(registry: Registry, prefix: string): ClusterMetrics {
  const held = new client.Gauge({ name: `${prefix}cluster_bind_slots_held`, help: 'Bind slots of the carrier account this node holds (cluster leases).', labelNames: ['carrier'], registers: [registry] });
  const share = new client.Gauge({ name: `${prefix}cluster_tps_share`, help: "This node's share of the carrier account's tps (tps x held / binds x headroom).", labelNames: ['carrier'], registers: [registry] });
  const lost = new client.Counter({ name: `${prefix}cluster_bind_slots_lost_total`, help: 'Bind slots given up or lost, by reason (renew_failed, taken, rebalanced, removed, stopped).', labelNames: ['carrier', 'reason'], registers: [registry] });
  const errors = new client.Counter({ name: `${prefix}cluster_errors_total`, help: 'Failed cluster work (lease renewals, heartbeats, queries) by error code.', labelNames: ['code'], registers: [registry] });
  return {
    slotsHeld: (carrier, n) => held.set({ carrier }, n),
    tpsShare: (carrier, rate) => share.set({ carrier }, rate),
    slotLost: (carrier, reason) => lost.inc({ carrier, reason }),
    error: (code) => errors.inc({ code }),
  };
}
