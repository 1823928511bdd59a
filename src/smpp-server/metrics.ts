/** smpp_server metrics (SPEC 14), by client (the account's system_id; `unknown` for others). */
import client from 'prom-client';

export function createSmppServerMetrics(registry: client.Registry, prefix: string, owed: () => Map<string, number>, bound: () => Map<string, number>) {
  const c = (name: string, help: string, labelNames: string[]) => new client.Counter({ name: prefix + name, help, labelNames, registers: [registry] });
  // Read from live state at each scrape, by client.
  const live = (name: string, help: string, read: () => Map<string, number>) =>
    new client.Gauge({
      name: prefix + name,
      help,
      labelNames: ['client'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [id, n] of read()) this.set({ client: id }, n);
      },
    });
  return {
    binds: live('smpp_server_binds', 'SMPP server binds up, by client.', bound),
    owed: live('smpp_server_owed', 'Receipts and replies waiting in the store for a client to bind (or answer).', owed),
    bindFailures: c('smpp_server_bind_failures_total', 'Binds refused, by client and command_status name.', ['client', 'status']),
    pdus: c('smpp_server_pdus_total', 'PDUs received from clients, by client and command.', ['client', 'command']),
    submits: c('smpp_server_submits_total', 'submit_sm by client and result (accepted or the command_status name).', ['client', 'result']),
    delivers: c('smpp_server_delivers_total', 'deliver_sm sent to clients, by client, kind and result.', ['client', 'kind', 'result']),
    closed: c('smpp_server_connections_closed_total', 'Client connections closed, by reason.', ['reason']),
    outbindRefused: c('smpp_outbind_refused_total', 'Carrier outbinds refused or whose receiver bind failed.', ['carrier', 'reason']),
  };
}

export type SmppServerMetrics = ReturnType<typeof createSmppServerMetrics>;
