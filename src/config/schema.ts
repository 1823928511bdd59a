/**
 * The one config schema (SPEC 2; every key documented in docs/config.md), with explicit defaults.
 * Every object is strict: an unknown key is an error naming its YAML path.
 */
import { z } from 'zod';
import { clusterConfigSchema } from '../cluster/config.js';

const int = (min: number, max?: number) => {
  const expected = max === undefined ? `expected integer >= ${min}` : `expected integer ${min}..${max}`;
  let s = z
    .number({ invalid_type_error: expected, required_error: 'required' })
    .int({ message: expected })
    .min(min, { message: expected });
  if (max !== undefined) s = s.max(max, { message: expected });
  return s;
};
const num = (min: number) =>
  z.number({ invalid_type_error: `expected number >= ${min}` }).min(min, { message: `expected number >= ${min}` });
const str = () => z.string({ invalid_type_error: 'expected string', required_error: 'required' });
const nonEmpty = () => str().min(1, { message: 'expected non-empty string' });
const bool = () => z.boolean({ invalid_type_error: 'expected boolean' });
const strList = () => z.array(str(), { invalid_type_error: 'expected list of strings' });
const hhmm = () => str().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'expected time HH:MM' });
const isoDate = () => str().regex(/^\d{4}-\d{2}-\d{2}$/, { message: 'expected date YYYY-MM-DD' });
const category = z.enum(['otp', 'notification', 'collection', 'marketing'], {
  errorMap: () => ({ message: 'expected one of otp, notification, collection, marketing' }),
});
const enumOf = <U extends string, T extends Readonly<[U, ...U[]]>>(values: T) =>
  z.enum(values, { errorMap: () => ({ message: `expected one of ${values.join(', ')}` }) });

const httpSchema = z
  .object({
    host: str().default('127.0.0.1'),
    port: int(0, 65535).default(8080),
    max_body_bytes: int(1024).default(1048576),
    /** A request whose headers and body have not all arrived by then is cut (408), so a stalled client frees its socket. */
    request_timeout_ms: int(100).default(30000),
    /** Headers must arrive within this (at most request_timeout_ms). */
    headers_timeout_ms: int(100).default(10000),
    /** Idle keep-alive sockets are closed after this. */
    keep_alive_timeout_ms: int(100).default(72000),
    /** Open sockets at once; past it new connections are refused (file descriptors are shared with the binds and the store). */
    max_connections: int(1).default(1024),
    /**
     * Threads that own the HTTP sockets (parsing, JSON, auth), beside the main thread that
     * keeps the store, dispatch and binds. auto: one per core beyond the first, at most 4; 0:
     * HTTP on the main thread.
     */
    threads: z.union([z.literal('auto'), int(0, 64)]).default('auto'),
  })
  .strict()
  .default({});

const storeSchema = z
  .object({
    /** sqlite: one daemon, embedded. postgres: several daemons share one queue (docs/cluster.md). */
    driver: enumOf(['sqlite', 'postgres']).default('sqlite'),
    path: nonEmpty().default('./var/xinge.db'),
    /** postgres only: the connection URL, from the environment (`${XINGE_STORE_URL}`). */
    url: nonEmpty().optional(),
    retention_days: int(1).default(180),
    /** Group-commit tick: accepted messages wait at most this long for their transaction. */
    commit_interval_ms: int(0, 1000).default(2),
    /**
     * full: every commit is fsynced before the 202 (survives power loss). normal: WAL commits
     * reach the OS before the 202 (survive a crash or kill of the daemon, not of the machine),
     * fsync at checkpoints only.
     */
    synchronous: enumOf(['full', 'normal']).default('full'),
  })
  .strict()
  .default({});

const queueSchema = z
  .object({
    max_depth: int(1).default(1000000),
    otp_max_depth: int(1).default(10000),
    lane_weights: z
      .object({ notification: int(1).default(4), collection: int(1).default(2), marketing: int(1).default(1) })
      .strict()
      .default({}),
    max_age_s: int(1).default(86400),
    max_attempts: int(1).default(10),
    retry_initial_ms: int(1).default(1000),
    retry_max_ms: int(1).default(300000),
    /** How many due segments the dispatcher claims from the store per pass. */
    claim_batch: int(1).default(2000),
  })
  .strict()
  .default({});

/**
 * Inbound state held between PDUs (issue 14.5, 14.6): receipts ahead of their submit_sm_resp
 * and parts of multipart replies, stored before their deliver_sm_resp and capped by count and
 * bytes so a flood cannot grow memory without bound. See docs/state.md.
 */
const inboundSchema = z
  .object({
    receipt_hold_s: int(1).default(60),
    held_receipts_max: int(1).default(10000),
    held_receipts_max_bytes: int(1024).default(4194304),
    reply_parts_timeout_s: int(1).default(60),
    partial_replies_max: int(1).default(10000),
    partial_replies_max_bytes: int(1024).default(8388608),
    /** A repeated warning (per carrier and kind) is logged at most once per interval, with a suppressed count. */
    warn_interval_s: num(0.001).default(10),
  })
  .strict()
  .default({});

const logSchema = z
  .object({ level: enumOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
  .strict()
  .default({});

const metricsSchema = z
  .object({ enabled: bool().default(true), prefix: str().default('xinge_') })
  .strict()
  .default({});

const simulatorSchema = z
  .object({
    enabled: bool().default(false),
    host: str().default('127.0.0.1'),
    port: int(0, 65535).default(2775),
    receipt_delay_ms: int(0).default(200),
    system_id: str().default('xinge'),
    password: str().default('secret'),
    /** The built-in MMSC simulator's HTTP port (docs/mms.md); none when unset. */
    mmsc_port: int(0, 65535).optional(),
    /** The simulator's own HTTP port (handset inbox, /sim/messages); absent = not served. */
    http_port: int(0, 65535).optional(),
  })
  .strict()
  .default({});

const scope = enumOf(['sms', 'otp', 'mms', 'callerid', 'admin']);
const clientSchema = z
  .object({
    name: nonEmpty(),
    token: nonEmpty(),
    scopes: z.array(scope).default(['sms']),
    categories: z.array(category).default(['notification']),
    free_text: bool().default(false),
    signature: str().optional(),
    source_extension: str().regex(/^\d{0,6}$/, { message: 'expected up to 6 digits' }).optional(),
    webhook_url: str().url({ message: 'expected URL' }).optional(),
    webhook_secret: str().optional(),
    /** A per-message callback_url must have one of these origins (scheme://host[:port]). */
    callback_origins: strList().default([]),
    /** Webhook targets that resolve to loopback, private, link-local or metadata addresses (tests, a receiver on the same host). */
    allow_private_callbacks: bool().default(false),
    /** Plain http targets (webhook_url, callback_origins); default: allowed only with allow_private_callbacks. */
    allow_http_callbacks: bool().optional(),
    rate_limit: z.object({ per_second: num(0.001), burst: int(1).optional() }).strict().optional(),
  })
  .strict();

const repliesSchema = z
  .object({
    /** The client that gets replies no source extension or earlier message attributes. */
    default_client: str().optional(),
  })
  .strict()
  .default({});

const webhooksSchema = z
  .object({
    max_age_s: int(1).default(86400),
    timeout_ms: int(1).default(3000),
    secret: str().default(''),
    initial_backoff_ms: int(1).default(1000),
    max_backoff_ms: int(1).default(3600000),
    concurrency: int(1).default(8),
  })
  .strict()
  .default({});

const addrSchema = z
  .object({ addr: str().default(''), ton: int(0, 6).default(0), npi: int(0, 18).default(1) })
  .strict()
  .default({});

const carrierSchema = z
  .object({
    id: nonEmpty().regex(/^[A-Za-z0-9_-]+$/, { message: 'expected [A-Za-z0-9_-]+' }),
    host: nonEmpty(),
    port: int(1, 65535),
    tls: bool().default(false),
    tls_reject_unauthorized: bool().default(true),
    system_id: nonEmpty().max(15, { message: 'expected at most 15 characters (SMPP 3.4)' }),
    password: str().max(8, { message: 'expected at most 8 characters (SMPP 3.4)' }),
    system_type: str().default(''),
    bind: enumOf(['transceiver', 'transmitter+receiver']).default('transceiver'),
    binds: int(1, 64).default(1),
    window: int(1, 10000).default(10),
    tps: num(1).default(100),
    burst: int(1).optional(),
    enquire_link_s: num(0.01).default(15),
    response_timeout_s: num(0.01).default(10),
    reconnect: z
      .object({
        initial_ms: int(1).default(200),
        max_ms: int(1).default(30000),
        auth_failure_ms: int(1).default(300000),
        /** The backoff resets only after a bind has stayed up this long (an SMSC that binds and drops is not hammered). */
        stable_after_s: num(0).default(60),
      })
      .strict()
      .default({}),
    /** submit_sm timeouts in a row after which a bind is taken out and rebuilt (it answers enquire_link, not submit_sm). */
    max_consecutive_timeouts: int(1).default(3),
    /** validity_period of submit_sm: from the message's remaining validity (relative or absolute time), or none (SMSC default). */
    validity: enumOf(['relative', 'absolute', 'none']).default('relative'),
    source: addrSchema,
    dest: z
      .object({
        ton: int(0, 6).default(1),
        npi: int(0, 18).default(1),
        format: enumOf(['e164', 'international', 'national']).default('international'),
      })
      .strict()
      .default({}),
    segmentation: enumOf(['udh8', 'udh16', 'sar', 'payload']).default('udh8'),
    encodings: z.array(enumOf(['gsm7', 'ucs2', 'latin1'])).default(['gsm7', 'ucs2']),
    pack_gsm7: bool().default(false),
    charsets: z
      .record(
        str().regex(/^\d+$/, { message: 'expected data_coding number' }),
        enumOf(['gsm7', 'gsm7_packed', 'ascii', 'latin1', 'ucs2', 'gb18030', 'binary']),
      )
      .default({}),
    registered_delivery: enumOf(['all', 'last', 'none']).default('all'),
    receipt_timeout_s: int(1).default(172800),
    multipart_receipts: enumOf(['all', 'any']).default('all'),
    dlr_id: enumOf(['as_is', 'hex_to_dec', 'dec_to_hex', 'auto']).default('as_is'),
    prefixes: strList().default([]),
    categories: z.array(category).optional(),
    required: bool().default(false),
    outbind: bool().default(false),
    errors: z
      .object({
        temporary: strList().default(['ESME_RTHROTTLED', 'ESME_RMSGQFUL', 'ESME_RSYSERR']),
        failover: strList().default([]),
        permanent: strList().default(['ESME_RINVDSTADR']),
      })
      .strict()
      .default({}),
  })
  .strict();

const routingSchema = z
  .object({
    ported_numbers: z.record(str(), str()).default({}),
    default_carrier: str().optional(),
    /** A carrier with no bound bind for this long is skipped and its queue moves to the next carrier (an OTP's failover time). */
    failover_after_ms: int(0).default(1000),
  })
  .strict()
  .default({});

/** SPEC 8: the listener for downstream ESMEs (and carriers' outbind); see docs/smpp-server.md. */
const smppServerSchema = z
  .object({
    enabled: bool().default(true),
    host: str().default('127.0.0.1'),
    port: int(0, 65535).default(2778),
    tls: bool().default(false),
    tls_cert: str().optional(),
    tls_key: str().optional(),
    max_binds: int(1).default(10),
    idle_timeout_s: num(0.01).default(120),
    bind_timeout_s: num(0.01).default(10),
    response_timeout_s: num(0.01).default(10),
    accounts: z
      .array(
        z
          .object({
            system_id: nonEmpty().max(15, { message: 'expected at most 15 characters (SMPP 3.4)' }),
            password: str(),
            allowed_ips: strList().default([]),
            max_binds: int(1).default(4),
            window: int(1).default(10),
            tps: num(1).default(50),
            category: category.default('notification'),
            free_text: bool().default(false),
            signature: str().optional(),
            source_extension: str().regex(/^\d{0,6}$/, { message: 'expected up to 6 digits' }).optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()
  .refine((s) => !s.tls || (s.tls_cert !== undefined && s.tls_key !== undefined), {
    message: 'tls: true needs tls_cert and tls_key (PEM file paths)',
    path: ['tls'],
  })
  .optional();

/** MM7 (SPEC 9): MMSCs and the receiver for their reports and MO MMS. Defaults in docs/mms.md. */
const mm7Charset = enumOf(['utf-8', 'gbk', 'gb18030']);
const mm7Schema = z
  .object({
    mmscs: z
      .array(
        z
          .object({
            id: nonEmpty().regex(/^[A-Za-z0-9_-]+$/, { message: 'expected [A-Za-z0-9_-]+' }),
            url: str().url({ message: 'expected URL' }),
            username: str().default(''),
            password: str().default(''),
            namespace: str().default('http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4'),
            version: str().default('6.8.0'),
            namespace_prefix: bool().default(false),
            vaspid: str().default(''),
            vasid: str().default(''),
            service_code: str().optional(),
            sender: str().default(''),
            sender_address: enumOf(['short_code', 'number']).default('short_code'),
            recipient_format: enumOf(['international', 'national', 'e164']).default('international'),
            soap_charset: mm7Charset.default('utf-8'),
            text_charset: mm7Charset.default('utf-8'),
            content: enumOf(['related', 'mixed']).default('related'),
            transfer_encoding: enumOf(['binary', 'base64']).default('binary'),
            delivery_report: bool().default(true),
            allow_adaptations: bool().default(true),
            connect_timeout_ms: int(1).default(5000),
            timeout_ms: int(1).default(10000),
            retries: int(0, 10).default(2),
            retry_initial_ms: int(1).default(500),
            max_attempts: int(1).default(10),
            concurrency: int(1, 64).default(4),
            max_size_bytes: int(1).default(307200),
            /** No DeliveryReportReq within this long: the MMS ends `unknown`. */
            report_timeout_s: int(1).default(172800),
            status_codes: z
              .object({
                success: z.array(int(0)).default([1000, 1100]),
                temporary: z.array(int(0)).default([3000, 3001, 4006]),
                permanent: z.array(int(0)).default([2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 3002, 3003, 3004, 4000]),
              })
              .strict()
              .default({}),
            prefixes: strList().default([]),
          })
          .strict(),
      )
      .default([]),
    receiver: z
      .object({
        enabled: bool().default(true),
        host: str().default('127.0.0.1'),
        port: int(0, 65535).default(8091),
        path: str().regex(/^\//, { message: 'expected a path starting with /' }).default('/mm7/receiver'),
        username: str().default(''),
        password: str().default(''),
        /** The client whose webhook gets an MO MMS that no earlier MMS to its sender attributes. */
        default_client: str().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .optional();
/** Caller-ID registration (SPEC 10, docs/caller-id.md). Absent: the feature and its routes are off. */
const callerIdSchema = z
  .object({
    provider: enumOf(['builtin']).default('builtin'),
    base_url: str().url({ message: 'expected URL' }),
    app_key: nonEmpty(),
    app_secret: nonEmpty(),
    timeout_ms: int(1).default(5000),
    max_attempts: int(1, 20).default(4),
    backoff: z.object({ initial_ms: int(1).default(500), max_ms: int(1).default(30000) }).strict().default({}),
    poll_s: int(1).default(60),
    poll_max_s: int(1).default(3600),
    expiry_warning_days: int(0).default(30),
    numbers: z.array(str().regex(/^\+[1-9]\d{6,14}$/, { message: 'expected E.164 (+ and 7 to 15 digits)' })).default([]),
    display_name: z.object({ min: int(1).default(2), max: int(1).default(20) }).strict().default({}),
    logo: z
      .object({ max_bytes: int(1).default(102400), max_width: int(1).default(512), max_height: int(1).default(512) })
      .strict()
      .default({}),
  })
  .strict()
  .optional();

const windowSchema = z
  .object({ start: hhmm(), end: hhmm(), working_days_only: bool().default(false) })
  .strict();

const policySchema = z
  .object({
    timezone: str().default('Asia/Shanghai'),
    signature: str().default(''),
    optout_suffix: str().default('拒收请回复R'),
    allowed_countries: strList().default(['86']),
    max_segments: int(1, 255).default(10),
    quiet_hours: z
      .object({
        enabled: bool().default(true),
        collection: windowSchema.default({ start: '09:00', end: '20:00', working_days_only: true }),
        notification: windowSchema.default({ start: '09:00', end: '21:00' }),
        marketing: windowSchema.default({ start: '09:00', end: '21:00' }),
        outside: enumOf(['defer', 'refuse']).default('defer'),
      })
      .strict()
      .default({}),
    calendar: z
      .object({ holidays: z.array(isoDate()).default([]), workdays: z.array(isoDate()).default([]) })
      .strict()
      .default({}),
    frequency_caps: z
      .record(
        category,
        z.object({ per_hour: int(1).optional(), per_day: int(1).optional(), per_week: int(1).optional() }).strict(),
      )
      .default({}),
    optout: z
      .object({
        categories: z.array(category).default(['marketing', 'collection']),
        keywords: strList().default(['TD', 'T', 'N', 'R', 'STOP', '退订', '取消', '拒收']),
      })
      .strict()
      .default({}),
    intents: z
      .record(str(), strList())
      .default({ paid: ['已还', '还了'], hardship: ['困难', '延期', '分期'], callback: ['回电'], dispute: ['不是我', '投诉'] }),
    forbidden_words: strList().default([]),
    otp: z
      .object({
        length: int(4, 10).default(6),
        ttl_s: int(60, 600).default(300),
        resend_after_s: int(1).default(60),
        per_hour: int(1).default(5),
        per_day: int(1).default(10),
        max_attempts: int(1).default(5),
        template: str().optional(),
        secret: str().default(''),
        body_key: str().default(''),
      })
      .strict()
      .default({}),
  })
  .strict()
  .default({});

const templateSchema = z
  .object({
    id: nonEmpty(),
    category,
    status: enumOf(['approved', 'pending', 'rejected']).default('pending'),
    text: str().optional(),
    signature: str().optional(),
    stages: z.object({ early: str().optional(), mid: str().optional(), late: str().optional() }).strict().optional(),
    variants: z
      .array(z.object({ id: nonEmpty(), weight: num(0), text: str().optional() }).strict())
      .optional(),
  })
  .strict();

export const configSchema = z
  .object({
    http: httpSchema,
    shutdown_grace_s: num(0).default(5),
    store: storeSchema,
    /** Active-active on PostgreSQL (store.driver: postgres); ignored with sqlite. */
    cluster: clusterConfigSchema.default({}),
    queue: queueSchema,
    inbound: inboundSchema,
    log: logSchema,
    metrics: metricsSchema,
    simulator: simulatorSchema,
    clients: z.array(clientSchema).default([]),
    replies: repliesSchema,
    webhooks: webhooksSchema,
    carriers: z.array(carrierSchema).default([]),
    routing: routingSchema,
    smpp_server: smppServerSchema,
    mm7: mm7Schema,
    caller_id: callerIdSchema,
    policy: policySchema,
    templates: z.array(templateSchema).default([]),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type CarrierConfig = Config['carriers'][number];
export type ClientConfig = Config['clients'][number];
export type PolicyConfig = Config['policy'];
export type TemplateConfig = Config['templates'][number];
export type MmscConfig = NonNullable<Config['mm7']>['mmscs'][number];
