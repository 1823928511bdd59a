/**
 * The provider adapter seam (SPEC 10): providers differ, the service speaks this interface.
 * The built-in adapter (builtin-provider.ts) speaks the REST protocol of SPEC 10; another
 * provider gets its own adapter, registered in index.ts under its `caller_id.provider` name.
 * Adapters throw ProviderError (errors.ts) for every failure.
 */
export const CARD_STATUSES = ['pending_review', 'approved', 'rejected', 'active', 'suspended', 'expired'] as const;
export type CardStatus = (typeof CARD_STATUSES)[number];

/** What is registered: the body of the provider's create and update. */
export interface CardFields {
  numbers: string[];
  display_name: string;
  logo_png_base64: string;
  industry: string;
  license_no: string;
  contact: string;
}

export interface ProviderCard {
  cardId: string;
  status: CardStatus;
  reason: string | undefined;
  /** Epoch ms. */
  effectiveAt: number | undefined;
  expiresAt: number | undefined;
}

export interface CallOptions {
  /** Attempts for this call (default: the adapter's configured max_attempts). */
  maxAttempts?: number;
}

export interface CallerIdProvider {
  readonly name: string;
  /** `requestId` is sent on every retry of this call (and of a later retry of the same operation). */
  create(fields: CardFields, requestId: string, opts?: CallOptions): Promise<ProviderCard>;
  get(cardId: string, requestId: string, opts?: CallOptions): Promise<ProviderCard>;
  /** Changes the card; the provider sends it back to review. */
  update(cardId: string, fields: CardFields, requestId: string, opts?: CallOptions): Promise<ProviderCard>;
  revoke(cardId: string, requestId: string, opts?: CallOptions): Promise<void>;
  close(): Promise<void>;
}
