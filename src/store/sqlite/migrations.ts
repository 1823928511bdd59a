/**
 * Versioned schema migrations, applied in order inside one transaction each and recorded
 * in PRAGMA user_version. Append only: never edit a migration that has shipped.
 */
import type Database from 'better-sqlite3';

export const MIGRATIONS: readonly string[] = [
  // 1: messages, segments, idempotency, counters
  `
  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    category TEXT NOT NULL,
    lane INTEGER NOT NULL,
    status TEXT NOT NULL,
    to_number TEXT NOT NULL,
    from_addr TEXT,
    body TEXT,
    body_enc BLOB,
    encoding TEXT NOT NULL,
    segmentation TEXT NOT NULL,
    segments INTEGER NOT NULL,
    pending INTEGER NOT NULL,
    carrier_id TEXT NOT NULL,
    concat_ref INTEGER NOT NULL,
    send_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    reference TEXT,
    callback_url TEXT,
    template_id TEXT,
    variant TEXT,
    stage TEXT,
    otp_id TEXT,
    error_code TEXT,
    error_text TEXT,
    created_at INTEGER NOT NULL,
    queued_at INTEGER,
    scheduled_at INTEGER,
    submitting_at INTEGER,
    submitted_at INTEGER,
    final_at INTEGER
  );
  -- Ids are time-ordered, so the primary key doubles as the creation-time index (retention
  -- purge walks it); every extra index costs on each of the several writes per message.
  CREATE INDEX messages_reference ON messages(client, reference) WHERE reference IS NOT NULL;
  CREATE INDEX messages_to ON messages(to_number, created_at);

  CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    lane INTEGER NOT NULL,
    status TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    carrier_id TEXT NOT NULL,
    tried TEXT,
    carrier_msg_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error_code TEXT,
    receipt_stat TEXT,
    receipt_err TEXT,
    submitted_at INTEGER,
    final_at INTEGER
  );
  CREATE INDEX segments_message ON segments(message_id);
  CREATE INDEX segments_due ON segments(carrier_id, lane, due_at, id) WHERE status = 'queued';
  CREATE INDEX segments_carrier_msg ON segments(carrier_id, carrier_msg_id) WHERE carrier_msg_id IS NOT NULL;
  CREATE INDEX segments_awaiting ON segments(carrier_id, submitted_at) WHERE status IN ('submitted','accepted','enroute');

  CREATE TABLE idempotency (
    client TEXT NOT NULL,
    key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    status INTEGER NOT NULL,
    response TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (client, key)
  ) WITHOUT ROWID;

  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  `,
  // 2: outbox, opt-outs, send log (frequency caps), OTP, MO
  `
  CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    last_error TEXT,
    done_at INTEGER
  );
  CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'pending';

  CREATE TABLE optouts (
    number TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE send_log (
    number TEXT NOT NULL,
    category TEXT NOT NULL,
    at INTEGER NOT NULL
  );
  CREATE INDEX send_log_key ON send_log(number, category, at);

  CREATE TABLE otps (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    to_number TEXT NOT NULL,
    purpose TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    message_id TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL
  );
  CREATE INDEX otps_key ON otps(to_number, purpose, created_at);

  CREATE TABLE mo_messages (
    id TEXT PRIMARY KEY,
    carrier_id TEXT NOT NULL,
    from_number TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    body TEXT NOT NULL,
    intent TEXT,
    client TEXT,
    last_message_id TEXT,
    partial INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
  );
  `,
  // 3: receipt timeouts walk segments in submit order behind a stored cursor. The partial
  // index on status it replaces took an entry out on every receipt, which cost a fifth of the
  // store's work per message; this one is written once, at submit, and a receipt leaves it be.
  `
  DROP INDEX segments_awaiting;
  CREATE INDEX segments_submitted ON segments(carrier_id, submitted_at) WHERE submitted_at IS NOT NULL;
  `,
  // 4: idempotency keys expire oldest first, a bounded slice at a time: without an index on
  // their age each hourly purge read every key (350 ms for 2 million, 3.7 s to delete 0.9M).
  `
  CREATE INDEX idempotency_created ON idempotency(created_at);
  `,
  // 5: OTP expiry (every 30 s) read the whole OTP table, which only grew; the active codes it
  // looks for are a handful.
  `
  CREATE INDEX otps_active ON otps(expires_at) WHERE status = 'active';
  `,
  // caller-ID registrations (SPEC 10, src/callerid/): one row per card; numbers as a JSON
  // list (a handful per card), the logo as bytes; the poller walks the due index.
  `
  CREATE TABLE callerid_registrations (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    card_id TEXT,
    status TEXT NOT NULL,
    reason TEXT,
    numbers TEXT NOT NULL,
    display_name TEXT NOT NULL,
    industry TEXT NOT NULL,
    license_no TEXT NOT NULL,
    contact TEXT NOT NULL,
    logo BLOB NOT NULL,
    effective_at INTEGER,
    expires_at INTEGER,
    pending_op TEXT,
    pending_request_id TEXT,
    pending_body TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_check_at INTEGER,
    expiry_warned_for INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX callerid_due ON callerid_registrations(next_check_at) WHERE next_check_at IS NOT NULL;
  CREATE INDEX callerid_client ON callerid_registrations(client, id);
  `,
  // (issue 14.5) A segment left `submitting` (its outcome's write failed) is requeued by a
  // periodic sweep, not only at the next start: claimed_at dates the claim; the partial index
  // holds only the segments in flight, a window's worth. Receipts that come before their
  // submit_sm_resp, and the parts of a multipart reply, are stored before deliver_sm_resp.
  `
  ALTER TABLE segments ADD COLUMN claimed_at INTEGER;
  CREATE INDEX segments_submitting ON segments(claimed_at) WHERE status = 'submitting';
  CREATE TABLE held_receipts (
    id INTEGER PRIMARY KEY,
    carrier_id TEXT NOT NULL,
    keys TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL
  );
  CREATE TABLE mo_parts (
    conv TEXT NOT NULL,
    ref INTEGER NOT NULL,
    total INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (conv, ref, total, seq)
  ) WITHOUT ROWID;
  `,
  // (issue 15) GET /v1/replies pages a client's replies, or one number's, in arrival order.
  `
  CREATE INDEX mo_client ON mo_messages(client, id);
  CREATE INDEX mo_from ON mo_messages(from_number, id);
  `,
  // smpp_server (SPEC 8): receipts and replies owed to a downstream ESME, kept until its
  // receiver bind answers deliver_sm_resp, so none is lost while it is unbound or we restart;
  // the client's part cuts (so parts go to the carrier as they came) and receipt wish; and
  // the parts of a multipart already answered ESME_ROK.
  `
  CREATE TABLE smpp_outbox (
    id INTEGER PRIMARY KEY,
    system_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX smpp_outbox_account ON smpp_outbox(system_id, id);
  -- Until a message of an SMPP client is final: where it cut a multipart (JSON array of part
  -- ends) and which receipts it asked for (registered_delivery: 0 none, 1 final, 2 failure).
  -- Only messages with a cut or without the default 1 have a row.
  CREATE TABLE smpp_messages (
    message_id TEXT PRIMARY KEY,
    cuts TEXT,
    receipts INTEGER NOT NULL DEFAULT 1
  );
  -- Parts of a multipart answered ESME_ROK while the rest have not come: accepted = committed.
  CREATE TABLE smpp_parts (
    part_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    total INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (part_key, seq)
  );
  CREATE INDEX smpp_parts_created ON smpp_parts(created_at);
  `,
  // MMS over MM7 (SPEC 9): MMS in their own tables beside the SMS queue; parts kept as sent
  // (text, or the binary bytes); DeliverReq/ReadReplyReq/DeliveryReportReq recorded as received.
  `
  CREATE TABLE mms_messages (
    id TEXT PRIMARY KEY,
    client TEXT NOT NULL,
    category TEXT NOT NULL,
    status TEXT NOT NULL,
    to_number TEXT NOT NULL,
    subject TEXT,
    mmsc_id TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    reference TEXT,
    callback_url TEXT,
    template_id TEXT,
    linked_id TEXT,
    fallback_sms TEXT,
    fallback_state TEXT,
    fallback_message_id TEXT,
    fallback_error TEXT,
    mm7_message_id TEXT,
    status_code INTEGER,
    status_text TEXT,
    mm_status TEXT,
    read_status TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    due_at INTEGER NOT NULL,
    send_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    submitted_at INTEGER,
    final_at INTEGER
  );
  CREATE INDEX mms_due ON mms_messages(due_at) WHERE status IN ('queued','scheduled');
  CREATE INDEX mms_mm7_id ON mms_messages(mm7_message_id) WHERE mm7_message_id IS NOT NULL;
  CREATE INDEX mms_fallback_pending ON mms_messages(fallback_state) WHERE fallback_state = 'pending';
  CREATE INDEX mms_fallback_msg ON mms_messages(fallback_message_id) WHERE fallback_message_id IS NOT NULL;
  CREATE INDEX mms_final ON mms_messages(final_at) WHERE final_at IS NOT NULL;
  CREATE INDEX mms_reference ON mms_messages(client, reference) WHERE reference IS NOT NULL;
  CREATE INDEX mms_awaiting_report ON mms_messages(submitted_at) WHERE status = 'submitted';
  CREATE TABLE mms_parts (
    message_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    filename TEXT,
    text TEXT,
    data BLOB,
    PRIMARY KEY (message_id, seq)
  ) WITHOUT ROWID;
  CREATE TABLE mms_inbound (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    message_id TEXT,
    sender TEXT,
    recipient TEXT,
    mm_status TEXT,
    subject TEXT,
    linked_id TEXT,
    client TEXT,
    parts_json TEXT,
    created_at INTEGER NOT NULL
  );
  `,
  // A DeliveryReportReq can come before its SubmitRsp's MessageID is recorded (a fast MMSC, a
  // busy daemon): it is held with that MessageID and matched when the MMS records it.
  `
  ALTER TABLE mms_inbound ADD COLUMN mm7_message_id TEXT;
  CREATE INDEX mms_inbound_held ON mms_inbound(mm7_message_id) WHERE message_id IS NULL AND mm7_message_id IS NOT NULL;
  -- Retention: reports, read replies and MO MMS go after store.retention_days, oldest first.
  CREATE INDEX mms_inbound_created ON mms_inbound(created_at);
  `,
];

export function migrate(db: Database.Database): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
  return MIGRATIONS.length;
}
