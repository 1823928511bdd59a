/**
 * The PostgreSQL store's schema (store.driver: postgres): the same tables as the SQLite
 * store (store/sqlite/migrations.ts, at its latest version), in PostgreSQL types (ms
 * timestamps and counts as bigint, read back as numbers; blobs as bytea), plus what a
 * cluster needs: `segments.claimed_by`, the node whose claim made a segment `submitting`.
 * Applied under an advisory lock in one transaction per migration, so N daemons starting
 * at once apply each exactly once. Append only.
 */
import type { PgSyncClient } from './sync-client.js';
import { StoreError } from './errors.js';

export const PG_STORE_MIGRATIONS: ReadonlyArray<{ name: string; sql: string }> = [
  {
    name: 'messages, segments, results, policy state, outboxes, caller-ID, MMS',
    sql: `
      CREATE TABLE messages (
          id text PRIMARY KEY,
          client text NOT NULL,
          category text NOT NULL,
          lane bigint NOT NULL,
          status text NOT NULL,
          to_number text NOT NULL,
          from_addr text,
          body text,
          body_enc bytea,
          encoding text NOT NULL,
          segmentation text NOT NULL,
          segments bigint NOT NULL,
          pending bigint NOT NULL,
          carrier_id text NOT NULL,
          concat_ref bigint NOT NULL,
          send_at bigint NOT NULL,
          expires_at bigint NOT NULL,
          reference text,
          callback_url text,
          template_id text,
          variant text,
          stage text,
          otp_id text,
          error_code text,
          error_text text,
          created_at bigint NOT NULL,
          queued_at bigint,
          scheduled_at bigint,
          submitting_at bigint,
          submitted_at bigint,
          final_at bigint
        );
      CREATE INDEX messages_reference ON messages(client, reference) WHERE reference IS NOT NULL;
      CREATE INDEX messages_to ON messages(to_number, created_at);
      CREATE TABLE segments (
          id bigserial PRIMARY KEY,
          message_id text NOT NULL,
          seq bigint NOT NULL,
          total bigint NOT NULL,
          lane bigint NOT NULL,
          status text NOT NULL,
          due_at bigint NOT NULL,
          carrier_id text NOT NULL,
          tried text,
          carrier_msg_id text,
          attempts bigint NOT NULL DEFAULT 0,
          error_code text,
          receipt_stat text,
          receipt_err text,
          submitted_at bigint,
          final_at bigint,
          claimed_at bigint,
          -- cluster: the node whose claim made it submitting (the reaper returns a dead node's)
          claimed_by text
        );
      CREATE INDEX segments_message ON segments(message_id);
      CREATE INDEX segments_due ON segments(carrier_id, lane, due_at, id) WHERE status = 'queued';
      CREATE INDEX segments_carrier_msg ON segments(carrier_id, carrier_msg_id) WHERE carrier_msg_id IS NOT NULL;
      CREATE TABLE idempotency (
          client text NOT NULL,
          key text NOT NULL,
          body_hash text NOT NULL,
          status bigint NOT NULL,
          response text NOT NULL,
          created_at bigint NOT NULL,
          PRIMARY KEY (client, key)
        );
      CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL);
      CREATE TABLE outbox (
          id text PRIMARY KEY,
          client text NOT NULL,
          url text NOT NULL,
          body text NOT NULL,
          attempts bigint NOT NULL DEFAULT 0,
          created_at bigint NOT NULL,
          next_attempt_at bigint NOT NULL,
          state text NOT NULL DEFAULT 'pending',
          last_error text,
          done_at bigint
        );
      CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'pending';
      CREATE TABLE optouts (
          number text PRIMARY KEY,
          source text NOT NULL,
          created_at bigint NOT NULL
        );
      CREATE TABLE send_log (
          number text NOT NULL,
          category text NOT NULL,
          at bigint NOT NULL
        );
      CREATE INDEX send_log_key ON send_log(number, category, at);
      CREATE TABLE otps (
          id text PRIMARY KEY,
          client text NOT NULL,
          to_number text NOT NULL,
          purpose text NOT NULL,
          code_hash text NOT NULL,
          message_id text,
          created_at bigint NOT NULL,
          expires_at bigint NOT NULL,
          attempts bigint NOT NULL DEFAULT 0,
          status text NOT NULL
        );
      CREATE INDEX otps_key ON otps(to_number, purpose, created_at);
      CREATE TABLE mo_messages (
          id text PRIMARY KEY,
          carrier_id text NOT NULL,
          from_number text NOT NULL,
          to_addr text NOT NULL,
          body text NOT NULL,
          intent text,
          client text,
          last_message_id text,
          partial bigint NOT NULL DEFAULT 0,
          created_at bigint NOT NULL
        );
      CREATE INDEX segments_submitted ON segments(carrier_id, submitted_at) WHERE submitted_at IS NOT NULL;
      CREATE INDEX idempotency_created ON idempotency(created_at);
      CREATE INDEX otps_active ON otps(expires_at) WHERE status = 'active';
      CREATE TABLE callerid_registrations (
          id text PRIMARY KEY,
          client text NOT NULL,
          card_id text,
          status text NOT NULL,
          reason text,
          numbers text NOT NULL,
          display_name text NOT NULL,
          industry text NOT NULL,
          license_no text NOT NULL,
          contact text NOT NULL,
          logo bytea NOT NULL,
          effective_at bigint,
          expires_at bigint,
          pending_op text,
          pending_request_id text,
          pending_body text,
          failures bigint NOT NULL DEFAULT 0,
          last_error text,
          next_check_at bigint,
          expiry_warned_for bigint,
          created_at bigint NOT NULL,
          updated_at bigint NOT NULL
        );
      CREATE INDEX callerid_due ON callerid_registrations(next_check_at) WHERE next_check_at IS NOT NULL;
      CREATE INDEX callerid_client ON callerid_registrations(client, id);
      CREATE INDEX segments_submitting ON segments(claimed_by, claimed_at) WHERE status = 'submitting';
      CREATE TABLE held_receipts (
          id bigserial PRIMARY KEY,
          carrier_id text NOT NULL,
          keys text NOT NULL,
          body text NOT NULL,
          received_at bigint NOT NULL
        );
      CREATE TABLE mo_parts (
          conv text NOT NULL,
          ref bigint NOT NULL,
          total bigint NOT NULL,
          seq bigint NOT NULL,
          body text NOT NULL,
          received_at bigint NOT NULL,
          PRIMARY KEY (conv, ref, total, seq)
        );
      CREATE INDEX mo_client ON mo_messages(client, id);
      CREATE INDEX mo_from ON mo_messages(from_number, id);
      CREATE TABLE smpp_outbox (
          id bigserial PRIMARY KEY,
          system_id text NOT NULL,
          kind text NOT NULL,
          body text NOT NULL,
          created_at bigint NOT NULL,
          attempts bigint NOT NULL DEFAULT 0
        );
      CREATE INDEX smpp_outbox_account ON smpp_outbox(system_id, id);
      CREATE TABLE smpp_messages (
          message_id text PRIMARY KEY,
          cuts text,
          receipts bigint NOT NULL DEFAULT 1
        );
      CREATE TABLE smpp_parts (
          part_key text NOT NULL,
          seq bigint NOT NULL,
          total bigint NOT NULL,
          message_id text NOT NULL,
          text text NOT NULL,
          created_at bigint NOT NULL,
          PRIMARY KEY (part_key, seq)
        );
      CREATE INDEX smpp_parts_created ON smpp_parts(created_at);
      CREATE TABLE mms_messages (
          id text PRIMARY KEY,
          client text NOT NULL,
          category text NOT NULL,
          status text NOT NULL,
          to_number text NOT NULL,
          subject text,
          mmsc_id text NOT NULL,
          size_bytes bigint NOT NULL,
          reference text,
          callback_url text,
          template_id text,
          linked_id text,
          fallback_sms text,
          fallback_state text,
          fallback_message_id text,
          fallback_error text,
          mm7_message_id text,
          status_code bigint,
          status_text text,
          mm_status text,
          read_status text,
          attempts bigint NOT NULL DEFAULT 0,
          due_at bigint NOT NULL,
          send_at bigint NOT NULL,
          expires_at bigint NOT NULL,
          created_at bigint NOT NULL,
          submitted_at bigint,
          final_at bigint
        );
      CREATE INDEX mms_due ON mms_messages(due_at) WHERE status IN ('queued','scheduled');
      CREATE INDEX mms_mm7_id ON mms_messages(mm7_message_id) WHERE mm7_message_id IS NOT NULL;
      CREATE INDEX mms_fallback_pending ON mms_messages(fallback_state) WHERE fallback_state = 'pending';
      CREATE INDEX mms_fallback_msg ON mms_messages(fallback_message_id) WHERE fallback_message_id IS NOT NULL;
      CREATE INDEX mms_final ON mms_messages(final_at) WHERE final_at IS NOT NULL;
      CREATE INDEX mms_reference ON mms_messages(client, reference) WHERE reference IS NOT NULL;
      CREATE INDEX mms_awaiting_report ON mms_messages(submitted_at) WHERE status = 'submitted';
      CREATE TABLE mms_parts (
          message_id text NOT NULL,
          seq bigint NOT NULL,
          content_type text NOT NULL,
          filename text,
          text text,
          data bytea,
          PRIMARY KEY (message_id, seq)
        );
      CREATE TABLE mms_inbound (
          id text PRIMARY KEY,
          kind text NOT NULL,
          message_id text,
          sender text,
          recipient text,
          mm_status text,
          subject text,
          linked_id text,
          client text,
          parts_json text,
          created_at bigint NOT NULL
        );
      -- A queue table: claims rewrite status and claimed_* on every send. Vacuum on a row
      -- count (not a fraction of a large table) so dead rows do not slow SKIP LOCKED scans.
      ALTER TABLE segments SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_cost_delay = 0);
      ALTER TABLE messages SET (fillfactor = 80, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 2000, autovacuum_vacuum_cost_delay = 0);
      ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
      ALTER TABLE counters SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500);
    `,
  },
  {
    // The retention purge deletes the caps' oldest log entries. SQLite finds them as the
    // first rowids; PostgreSQL has no insertion order, and without this index each purge
    // step (and the last, which finds nothing) read the whole log.
    name: 'send_log oldest entries by time',
    sql: `CREATE INDEX send_log_at ON send_log(at);`,
  },
  {
    // Cluster: as for segments, the node whose claim made an MMS `submitting`, so a restart
    // recovers only its own claims and a dead node's go back through reapClaims.
    name: 'mms_messages.claimed_by',
    sql: `ALTER TABLE mms_messages ADD COLUMN claimed_by text;
      CREATE INDEX mms_submitting ON mms_messages(claimed_by) WHERE status = 'submitting';`,
  },
  {
    // Cluster: the caller-ID poller's work is a claim (claimed_by until claim_until, epoch ms),
    // so two nodes never call the provider for one registration at once; a dead node's claim
    // runs out and the registration is taken again.
    name: 'callerid_registrations.claimed_by, claim_until',
    sql: `ALTER TABLE callerid_registrations ADD COLUMN claimed_by text, ADD COLUMN claim_until bigint;`,
  },
  {
    // Cluster: a deliver_sm owed to an ESME bound to several nodes is handed to one of them at
    // a time (claimed_by until claim_until, epoch ms); a dead node's claim runs out.
    name: 'smpp_outbox.claimed_by, claim_until',
    sql: `ALTER TABLE smpp_outbox ADD COLUMN claimed_by text, ADD COLUMN claim_until bigint;`,
  },
  {
    // Cluster: the node holding a receipt for its resp; a node loads only its own at start,
    // and a dead node's are taken over by a live one (adoptHeldReceipts).
    name: 'held_receipts.held_by',
    sql: `ALTER TABLE held_receipts ADD COLUMN held_by text;
      CREATE INDEX held_receipts_holder ON held_receipts(held_by);`,
  },
  {
    // A verification code's send windows checked inside its own transaction without a round
    // trip of their own (PgAuxStore.guardSends): a full window aborts it with SQLSTATE XG001.
    name: 'xinge_assert_window_room',
    sql: `CREATE OR REPLACE FUNCTION xinge_assert_window_room(room boolean) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        IF NOT room THEN RAISE EXCEPTION 'a send window is full' USING ERRCODE = 'XG001'; END IF;
      END $$;`,
  },
  {
    // A DeliveryReportReq can come before its SubmitRsp's MessageID is recorded (a fast MMSC,
    // a busy daemon, or another node's submit): held with that MessageID, matched later.
    name: 'mms_inbound.mm7_message_id, retention index',
    sql: `ALTER TABLE mms_inbound ADD COLUMN mm7_message_id text;
      CREATE INDEX mms_inbound_held ON mms_inbound(mm7_message_id) WHERE message_id IS NULL AND mm7_message_id IS NOT NULL;
      CREATE INDEX mms_inbound_created ON mms_inbound(created_at);`,
  },
];

/** 'xinge' + 'store' in ASCII: any constant all daemons share. */
export const STORE_MIGRATION_LOCK = '7812083301447300712';

/** Brings the schema up to date; returns the versions this call applied. */
export function migratePgStore(c: PgSyncClient, migrations = PG_STORE_MIGRATIONS): number[] {
  const applied: number[] = [];
  // The bookkeeping table too is created under the lock: two daemons creating it at once
  // race in the catalog (23505 or 42P07, by microseconds), and a daemon that loses must not exit.
  c.run('BEGIN');
  try {
    c.run(`SELECT pg_advisory_xact_lock(${STORE_MIGRATION_LOCK})`);
    c.run('CREATE TABLE IF NOT EXISTS store_schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
    c.run('COMMIT');
  } catch (err) {
    rollbackQuietly(c);
    throw new StoreError('store_migration_failed', `store migrations: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (let v = 1; v <= migrations.length; v++) {
    c.run('BEGIN');
    try {
      c.run(`SELECT pg_advisory_xact_lock(${STORE_MIGRATION_LOCK})`);
      if (c.one('SELECT 1 FROM store_schema_migrations WHERE version = $1', [v]) === undefined) {
        c.run(migrations[v - 1]!.sql);
        c.run('INSERT INTO store_schema_migrations (version, name) VALUES ($1, $2)', [v, migrations[v - 1]!.name]);
        applied.push(v);
      }
      c.run('COMMIT');
    } catch (err) {
      rollbackQuietly(c);
      throw new StoreError('store_migration_failed', `store migration ${v}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return applied;
}

function rollbackQuietly(c: PgSyncClient): void {
  try {
    c.run('ROLLBACK');
  } catch {
    /* the connection is gone: PostgreSQL rolled back */
  }
}
