/**
 * submit_sm into the same pipeline as HTTP (SPEC 8): the account's TPS, then the text
 * (UDH, SAR or message_payload; concatenated parts joined first), the signature checked
 * rather than prepended, and SubmitService (policy with lint on the whole text, routing,
 * lanes, durable insert). Refusals become command_status values (refusals.ts).
 *
 * A multipart message is one message: its first parts are held in the store and answered
 * ESME_ROK with the id the whole will have, the last part with the pipeline's verdict. If
 * the whole is refused or its parts stop coming, the id gets a REJECTD receipt so the
 * client still learns.
 */
import type { Logger } from 'pino';
import type { Pdu } from '../carriers/smpp/codec.js';
import { fieldBuf, fieldNum, fieldStr } from '../carriers/smpp/codec.js';
import { Status, statusName } from '../carriers/smpp/command-status.js';
import type { ClientConfig, Config } from '../config/schema.js';
import { ApiError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { decodeIncoming, resolveCharset, type CharsetMap } from '../encoding/index.js';
import type { Accepted, ComposedText } from '../intake/submit-service.js';
import type { SmsRequest } from '../intake/validate.js';
import { checkSignature, resolveSignature } from '../policy/signature.js';
import { AdaptiveTokenBucket } from '../scheduler/rate-limiter.js';
import { clientNameOf, type SmppAccount } from './accounts.js';
import { SmppRefusal, statusForRefusal } from './refusals.js';
import type { SubmitAnswer } from './server-session.js';

/** What the intake needs of SubmitService (the one the HTTP routes use). */
export interface SubmitPipeline {
  submit(req: SmsRequest, client: ClientConfig, alsoInCommit?: (a: Accepted) => void, composed?: ComposedText, presetId?: string): Promise<Accepted>;
}

export interface SubmitIntakeDeps {
  config: () => Config;
  pipeline: () => SubmitPipeline;
  now: () => number;
  logger: Logger;
  /** A message id given out that will never be stored (whole refused, parts lost): tell the client. */
  abandoned: (systemId: string, messageId: string, reason: string) => void;
  /**
   * Inside the insert's transaction: where the client cut a multipart and which receipts it
   * wants (when not the default), and its held parts are done with.
   */
  keep: (messageId: string, cuts: readonly number[] | undefined, receipts: number, partKey: string) => void;
  /** Hold one part durably (committed before its ESME_ROK); resolves with the parts held so far. */
  holdPart: (key: string, seq: number, total: number, text: string, newId: string) => Promise<{ messageId: string; added: boolean; parts: string[] }>;
  /** Forget a multipart's held parts (refused whole, or given up). */
  dropParts: (key: string) => Promise<unknown>;
  /** Multiparts whose first part came before `before`. */
  staleParts: (before: number) => Array<{ key: string; messageId: string }>;
  /** For metrics: a submit's outcome by account. */
  outcome?: (systemId: string, result: string) => void;
  reassemblyTimeoutMs?: number;
}

/** Legacy Chinese systems send GBK as data_coding 15 (a CMPP habit): read it so. */
const SUBMIT_CHARSETS: CharsetMap = { '15': 'gb18030' };

export class SubmitIntake {
  readonly #d: SubmitIntakeDeps;
  readonly #buckets = new Map<string, AdaptiveTokenBucket>();

  constructor(deps: SubmitIntakeDeps) {
    this.#d = deps;
  }

  async submit(account: SmppAccount, pdu: Pdu): Promise<SubmitAnswer> {
    const sid = account.system_id;
    const answer = await this.#submit(account, pdu);
    this.#d.outcome?.(sid, answer.status === 0 ? 'accepted' : statusName(answer.status));
    return answer;
  }

  /** Multiparts whose parts stopped coming (held parts survive a restart): their ids get a REJECTD receipt. */
  sweep(): void {
    for (const p of this.#d.staleParts(this.#d.now() - (this.#d.reassemblyTimeoutMs ?? 60000))) {
      void this.#d.dropParts(p.key);
      this.#d.abandoned(p.key.split('|')[0]!, p.messageId, 'parts never came');
    }
  }

  async #submit(account: SmppAccount, pdu: Pdu): Promise<SubmitAnswer> {
    if (this.#bucket(account).tryTake(1) === 0) return { status: Status.ESME_RTHROTTLED };
    const dataCoding = fieldNum(pdu, 'data_coding');
    const charset = resolveCharset(dataCoding, SUBMIT_CHARSETS);
    if (charset === 'binary') return { status: SmppRefusal.INVALID_DCS };
    let decoded: ReturnType<typeof decodeIncoming>;
    try {
      decoded = decodeIncoming(userData(pdu, dataCoding), SUBMIT_CHARSETS);
    } catch {
      return { status: SmppRefusal.BAD_UDH };
    }
    const dest = fieldStr(pdu, 'destination_addr');
    const ucs2 = charset === 'ucs2';
    // SMPP 3.4 5.2.17: 0 no receipt, 1 on final state, 2 on failure only (3 reserved: as 1).
    const rd = fieldNum(pdu, 'registered_delivery') & 0x03;
    const receipts = rd === 3 ? 1 : rd;
    if (decoded.concat === undefined || decoded.concat.total <= 1) return this.#whole(account, dest, decoded.text, { cuts: [decoded.text.length], ucs2 }, receipts);
    // One reassembly per source, destination and reference: parts of one message share all three.
    const key = `${account.system_id}|${fieldStr(pdu, 'source_addr')}|${dest}|${decoded.concat.ref}`;
    const { seq, total } = decoded.concat;
    // Committed before the ESME_ROK: a part answered is a part kept, across a restart too.
    const held = await this.#d.holdPart(key, seq, total, decoded.text, newId('msg', this.#d.now()));
    const id = held.messageId;
    // A resent part (added false) never completes a message a second time.
    if (!held.added || held.parts.length < total) return { status: 0, messageId: id };
    let end = 0;
    const cuts = held.parts.map((p) => (end += p.length));
    const a = await this.#whole(account, dest, held.parts.join(''), { cuts, ucs2 }, receipts, id, key);
    if (a.status !== 0) {
      await this.#d.dropParts(key);
      this.#d.abandoned(account.system_id, id, `refused: ${statusName(a.status)}`);
    }
    return a;
  }

  async #whole(
    account: SmppAccount,
    to: string,
    text: string,
    parts: NonNullable<SmsRequest['parts']>,
    receipts: number,
    presetId?: string,
    partKey = '',
  ): Promise<SubmitAnswer> {
    const cfg = this.#d.config();
    const client = clientFor(account);
    try {
      // The parts go to the carrier as they came, so nothing may be prepended: checked here.
      checkSignature(text, resolveSignature(cfg.policy.signature, account.signature));
    } catch {
      return { status: SmppRefusal.SIGNATURE_MISSING };
    }
    const req: SmsRequest = { to, text, category: account.category, parts };
    // The client's cut (for the dispatcher) and receipt wish are kept with the message, in its transaction.
    const cuts = parts.cuts.length > 1 ? parts.cuts : undefined;
    const keep = cuts !== undefined || receipts !== 1 ? (a: Accepted) => this.#d.keep(a.id, cuts, receipts, partKey) : undefined;
    try {
      const accepted = await this.#d.pipeline().submit(req, client, keep, undefined, presetId);
      return { status: 0, messageId: accepted.id };
    } catch (err) {
      if (err instanceof ApiError) {
        this.#d.logger.info({ systemId: account.system_id, code: err.code }, 'smpp server: submit refused');
        return { status: statusForRefusal(err.code) };
      }
      throw err;
    }
  }

  #bucket(account: SmppAccount): AdaptiveTokenBucket {
    let b = this.#buckets.get(account.system_id);
    if (b === undefined || b.tps !== account.tps) {
      b = new AdaptiveTokenBucket({ tps: account.tps, burst: Math.max(1, Math.ceil(account.tps)), now: this.#d.now });
      this.#buckets.set(account.system_id, b);
    }
    return b;
  }
}

function userData(pdu: Pdu, dataCoding: number): Parameters<typeof decodeIncoming>[0] {
  const input: Parameters<typeof decodeIncoming>[0] = { shortMessage: fieldBuf(pdu, 'short_message'), esmClass: fieldNum(pdu, 'esm_class'), dataCoding };
  const payload = pdu.tlvs['message_payload'];
  if (Buffer.isBuffer(payload)) input.messagePayload = payload;
  const t = pdu.tlvs;
  if (typeof t['sar_msg_ref_num'] === 'number' && typeof t['sar_total_segments'] === 'number' && typeof t['sar_segment_seqnum'] === 'number') {
    input.sar = { msgRefNum: t['sar_msg_ref_num'], totalSegments: t['sar_total_segments'], segmentSeqnum: t['sar_segment_seqnum'] };
  }
  return input;
}

/** The account as the pipeline's client: its messages are stored under `smpp:<system_id>`. */
export function clientFor(account: SmppAccount): ClientConfig {
  return {
    name: clientNameOf(account.system_id),
    token: '',
    scopes: ['sms'],
    categories: [account.category],
    free_text: account.free_text,
    // An SMPP client gets its receipts as deliver_sm, never by webhook.
    callback_origins: [],
    allow_private_callbacks: false,
    ...(account.signature !== undefined ? { signature: account.signature } : {}),
    ...(account.source_extension !== undefined ? { source_extension: account.source_extension } : {}),
  };
}
