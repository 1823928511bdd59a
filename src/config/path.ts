/** A config path as errors name it: `carriers[0].window`, `routing.ported_numbers["+86 138"]`. */
/** A key that reads as itself in a path; any other (a space, a dot, empty) is quoted: `a[" b"]`. */
const PLAIN_KEY = /^[A-Za-z_$][\w$-]*$/;

export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (!PLAIN_KEY.test(p)) out += `[${JSON.stringify(p)}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out === '' ? '(root)' : out;
}
