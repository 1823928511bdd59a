/** Every key path of the config schema (`clients[].webhook_url`) with its default, read from the zod schema itself. */
import { z } from 'zod';
import { configSchema } from '../../src/config/schema.js';

function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s._def.innerType;
    else if (s instanceof z.ZodEffects) s = s._def.schema;
    else return s;
  }
}

export interface ConfigKey {
  path: string;
  /** The default as JSON, or undefined when required or optional without one. */
  default: string | undefined;
  /** An object or a list of objects: its keys are listed on their own. */
  container: boolean;
}

function walk(s: z.ZodTypeAny, path: string, out: ConfigKey[]): void {
  const u = unwrap(s);
  if (u instanceof z.ZodObject) {
    if (path !== '') out.push({ path, default: undefined, container: true });
    for (const [k, v] of Object.entries(u.shape as Record<string, z.ZodTypeAny>)) walk(v, path ? `${path}.${k}` : k, out);
    return;
  }
  if (u instanceof z.ZodArray && unwrap(u.element) instanceof z.ZodObject) {
    out.push({ path, default: undefined, container: true });
    walk(u.element, `${path}[]`, out);
    return;
  }
  const r = s.safeParse(undefined);
  out.push({ path, default: r.success && r.data !== undefined ? JSON.stringify(r.data) : undefined, container: false });
}

export function configKeys(): ConfigKey[] {
  const out: ConfigKey[] = [];
  walk(configSchema, '', out);
  return out;
}
