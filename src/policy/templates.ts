/**
 * Templates (SPEC 11): approved texts with `{name}` placeholders, optional collection
 * stages chosen by overdue_days (early 1–7, mid 8–30, late 31+), optional A/B variants
 * chosen by weight. Only approved templates send.
 *
 * Lint runs twice: at load, over every text a template can produce (a template carrying
 * a forbidden word cannot be approved, whatever its configured status), and at render,
 * over each parameter (so the refusal names `params.<name>`) and over the rendered text.
 *
 * Params: the accepted set is the union of placeholders across all of a template's texts,
 * so a caller never fails by chance on the variant the rng picked; `{overdue_days}` is not
 * a param but filled from the request's overdue_days.
 */
import { ApiError } from '../domain/errors.js';
import type { Category } from '../domain/types.js';
import type { TemplateConfig } from '../config/schema.js';
import { ContentLinter } from './lint.js';

export type Stage = 'early' | 'mid' | 'late';
export type TemplateStatus = 'approved' | 'pending' | 'rejected' | 'rejected_by_lint';

export interface RenderRequest {
  templateId: string;
  params?: Readonly<Record<string, unknown>> | undefined;
  overdueDays?: number | undefined;
  /** Uniform in [0, 1), e.g. Math.random; injected so tests choose the variant. */
  rng: () => number;
}

export interface Rendered {
  text: string;
  templateId: string;
  variant?: string;
  stage?: Stage;
  category: Category;
  /** The template's own signature, when it has one (see resolveSignature). */
  signature?: string;
}

interface Variant {
  id: string;
  weight: number;
  text: string | undefined;
}

interface Compiled {
  id: string;
  category: Category;
  status: TemplateStatus;
  text: string | undefined;
  stages: Partial<Record<Stage, string>> | undefined;
  variants: Variant[];
  params: ReadonlySet<string>;
  signature: string | undefined;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const OVERDUE = 'overdue_days';

export function stageFor(overdueDays: number): Stage {
  return overdueDays <= 7 ? 'early' : overdueDays <= 30 ? 'mid' : 'late';
}

/** Every text a template can produce, with its config path for load problems. */
function textsOf(t: TemplateConfig, path: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  if (t.text !== undefined) out.push([`${path}.text`, t.text]);
  for (const s of ['early', 'mid', 'late'] as const) {
    const text = t.stages?.[s];
    if (text !== undefined) out.push([`${path}.stages.${s}`, text]);
  }
  t.variants?.forEach((v, j) => v.text !== undefined && out.push([`${path}.variants[${j}].text`, v.text]));
  return out;
}

export class TemplateBook {
  /** Problems found at load, for the log and check-config; never includes message content. */
  readonly loadProblems: string[] = [];
  readonly #templates = new Map<string, Compiled>();
  readonly #linter: ContentLinter;

  constructor(templates: readonly TemplateConfig[], forbiddenWords: readonly string[]) {
    this.#linter = new ContentLinter(forbiddenWords);
    templates.forEach((t, i) => this.#load(t, `templates[${i}]`));
  }

  get linter(): ContentLinter {
    return this.#linter;
  }

  /** Effective status (approved, pending, rejected or rejected_by_lint); undefined if unknown. */
  status(templateId: string): TemplateStatus | undefined {
    return this.#templates.get(templateId)?.status;
  }

  category(templateId: string): Category | undefined {
    return this.#templates.get(templateId)?.category;
  }

  /** The params a template accepts (and requires), overdue_days excluded. */
  params(templateId: string): string[] | undefined {
    const t = this.#templates.get(templateId);
    return t === undefined ? undefined : [...t.params];
  }

  ids(): string[] {
    return [...this.#templates.keys()];
  }

  render(req: RenderRequest): Rendered {
    const t = this.#templates.get(req.templateId);
    if (t === undefined) throw new ApiError('unknown_template', `unknown template ${req.templateId}`, { field: 'template' });
    if (t.status !== 'approved') {
      throw new ApiError('template_not_approved', `template ${t.id} is ${t.status.replace(/_/g, ' ')}`, { field: 'template' });
    }
    const params = req.params ?? {};
    const stage = this.#stage(t, req.overdueDays);
    const variant = pickVariant(t.variants, req.rng);
    // A variant's own text wins (even over a stage text: variants and stages on one template
    // are unusual, and the variant is what the A/B test measures); else stage; else text.
    const text = variant?.text ?? (stage !== undefined ? t.stages?.[stage] : undefined) ?? t.text;
    if (text === undefined) {
      throw new ApiError('invalid_field', `template ${t.id} has no text for stage ${stage ?? '(none)'}`, { field: OVERDUE });
    }
    const values = this.#values(t, text, params, req.overdueDays);
    const rendered = text.replace(PLACEHOLDER, (m, name: string) => values.get(name) ?? m);
    // A word split across a param and the template text is only visible here.
    this.#linter.check(rendered, 'text');
    const out: Rendered = { text: rendered, templateId: t.id, category: t.category };
    if (variant !== undefined) out.variant = variant.id;
    if (stage !== undefined) out.stage = stage;
    if (t.signature !== undefined) out.signature = t.signature;
    return out;
  }

  #load(t: TemplateConfig, path: string): void {
    if (this.#templates.has(t.id)) {
      this.loadProblems.push(`template ${t.id}: ${path} duplicates an earlier id and is ignored`);
      return;
    }
    // The schema types enums as string; treat anything unexpected as not approved.
    let status: TemplateStatus = t.status === 'approved' || t.status === 'rejected' ? t.status : 'pending';
    const texts = textsOf(t, path);
    if (t.text === undefined && t.stages === undefined) {
      this.loadProblems.push(`template ${t.id}: ${path} has neither text nor stages`);
      if (status === 'approved') status = 'rejected';
    }
    for (const [p, text] of texts) {
      const word = this.#linter.find(text);
      if (word === undefined) continue;
      this.loadProblems.push(`template ${t.id}: ${p} contains the forbidden word "${word}"; it cannot be approved`);
      status = 'rejected_by_lint';
    }
    const variants = (t.variants ?? []).map((v) => ({ id: v.id, weight: v.weight, text: v.text }));
    if (variants.length > 0 && !variants.some((v) => v.weight > 0)) {
      this.loadProblems.push(`template ${t.id}: ${path}.variants all have weight 0; the first is always used`);
    }
    const params = new Set<string>();
    for (const [, text] of texts) for (const m of text.matchAll(PLACEHOLDER)) if (m[1] !== OVERDUE) params.add(m[1]!);
    this.#templates.set(t.id, {
      id: t.id,
      category: t.category,
      status,
      text: t.text,
      stages: t.stages,
      variants,
      params,
      signature: t.signature,
    });
  }

  /** The stage, when the template has stages; overdue_days is then required (>= 1). */
  #stage(t: Compiled, overdueDays: number | undefined): Stage | undefined {
    if (t.stages === undefined) return undefined;
    if (overdueDays === undefined) {
      throw new ApiError('missing_param', `template ${t.id} needs overdue_days to choose its stage`, { field: OVERDUE });
    }
    checkOverdueDays(overdueDays);
    if (overdueDays < 1) throw new ApiError('invalid_field', 'overdue_days must be at least 1 for a staged template', { field: OVERDUE });
    return stageFor(overdueDays);
  }

  /** Placeholder values: every accepted param present, no others, each lint-clean. */
  #values(t: Compiled, text: string, params: Readonly<Record<string, unknown>>, overdueDays: number | undefined): Map<string, string> {
    for (const name of Object.keys(params)) {
      if (!t.params.has(name)) {
        const hint = name === OVERDUE ? ' (pass overdue_days at the top level)' : '';
        throw new ApiError('unknown_param', `template ${t.id} has no parameter ${name}${hint}`, { field: `params.${name}` });
      }
    }
    const values = new Map<string, string>();
    for (const name of t.params) {
      const v = params[name];
      if (v === undefined || v === null) {
        throw new ApiError('missing_param', `template ${t.id} needs parameter ${name}`, { field: `params.${name}` });
      }
      if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
        throw new ApiError('invalid_field', `parameter ${name} must be a string or a number`, { field: `params.${name}` });
      }
      const s = String(v);
      this.#linter.check(s, `params.${name}`);
      values.set(name, s);
    }
    if (text.includes(`{${OVERDUE}}`)) {
      if (overdueDays === undefined) {
        throw new ApiError('missing_param', `template ${t.id} needs overdue_days`, { field: OVERDUE });
      }
      checkOverdueDays(overdueDays);
      values.set(OVERDUE, String(overdueDays));
    }
    return values;
  }
}

function checkOverdueDays(n: number): void {
  if (!Number.isInteger(n) || n < 0) {
    throw new ApiError('invalid_field', 'overdue_days must be a non-negative integer', { field: OVERDUE });
  }
}

/** Weighted choice: x = rng() * total falls in one variant's share; weight 0 never wins. */
function pickVariant(variants: readonly Variant[], rng: () => number): Variant | undefined {
  if (variants.length === 0) return undefined;
  const total = variants.reduce((s, v) => s + v.weight, 0);
  if (total <= 0) return variants[0];
  const x = Math.min(Math.max(rng(), 0), 1) * total;
  let acc = 0;
  for (const v of variants) {
    acc += v.weight;
    if (v.weight > 0 && x < acc) return v;
  }
  // rng() returned 1 (or float rounding): the last variant with a share.
  return [...variants].reverse().find((v) => v.weight > 0);
}
