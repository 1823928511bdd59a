/**
 * The one config schema (SPEC 2, shared/config.example.yaml), with explicit defaults.
 * Every object is strict: an unknown key is an error naming its YAML path.
 */
import { z } from 'zod';

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
  })
  .strict()
  .default({});

const storeSchema = z
  .object({
    driver: enumOf(['sqlite']).default('sqlite'),
    path: nonEmpty().default('./var/xinge.db'),
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
    rate_limit: z.object({ per_second: num(0.001), burst: int(1).optional() }).strict().optional(),
  })
  .strict();

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
      .object({ initial_ms: int(1).default(200), max_ms: int(1).default(30000), auth_failure_ms: int(1).default(300000) })
      .strict()
      .default({}),
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
  })
  .strict()
  .default({});

const smppServerSchema = z
  .object({
    enabled: bool().default(false),
    host: str().default('127.0.0.1'),
    port: int(0, 65535).default(2778),
    tls: bool().default(false),
    max_binds: int(1).default(10),
    idle_timeout_s: int(1).default(120),
    accounts: z
      .array(
        z
          .object({
            system_id: nonEmpty(),
            password: str(),
            allowed_ips: strList().default([]),
            max_binds: int(1).default(4),
            window: int(1).default(10),
            tps: num(1).default(50),
            category: category.default('notification'),
            free_text: bool().default(false),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()
  .optional();

/**
 * MM7 and caller-ID (SPEC 9, 10): the shape of config.example.yaml, strict like the rest so
 * a misspelt key is an error naming its path. No defaults yet: whoever builds the MM7
 * client and the caller-ID client sets them.
 */
const mm7Schema = z
  .object({
    mmscs: z
      .array(
        z
          .object({
            id: nonEmpty().regex(/^[A-Za-z0-9_-]+$/, { message: 'expected [A-Za-z0-9_-]+' }),
            url: str().url({ message: 'expected URL' }),
            username: str().optional(),
            password: str().optional(),
            namespace: str().optional(),
            version: str().optional(),
            namespace_prefix: bool().optional(),
            vaspid: str().optional(),
            vasid: str().optional(),
            service_code: str().optional(),
            sender: str().optional(),
            timeout_ms: int(1).optional(),
            max_size_bytes: int(1).optional(),
            status_codes: z
              .object({ temporary: z.array(int(0)).optional(), permanent: z.array(int(0)).optional() })
              .strict()
              .optional(),
            prefixes: strList().optional(),
          })
          .strict(),
      )
      .default([]),
    receiver: z
      .object({
        host: str().optional(),
        port: int(0, 65535).optional(),
        path: str().optional(),
        username: str().optional(),
        password: str().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .optional();
const callerIdSchema = z
  .object({
    provider: str().optional(),
    base_url: str().url({ message: 'expected URL' }).optional(),
    app_key: str().optional(),
    app_secret: str().optional(),
    poll_s: int(1).optional(),
    expiry_warning_days: int(0).optional(),
    numbers: strList().optional(),
    display_name: z.object({ min: int(1).optional(), max: int(1).optional() }).strict().optional(),
    logo: z.object({ max_bytes: int(1).optional(), max_width: int(1).optional(), max_height: int(1).optional() }).strict().optional(),
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
    queue: queueSchema,
    log: logSchema,
    metrics: metricsSchema,
    simulator: simulatorSchema,
    clients: z.array(clientSchema).default([]),
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
