/** The `caller_id` config section (schema in src/config/schema.ts, documented in docs/caller-id.md). */
import type { Config } from '../config/schema.js';

export type CallerIdConfig = NonNullable<Config['caller_id']>;
