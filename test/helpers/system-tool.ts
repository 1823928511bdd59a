/**
 * Tests that drive a tool from Debian's packages (promtool, chromium): `.ci/run` installs
 * them, so under CI a missing tool is a failure; on a developer machine without it the test
 * says how to get it and is skipped, so `npm ci && npm test` still passes on a fresh machine.
 */
import { existsSync } from 'node:fs';
import type { Test } from 'tap';

export function requireTool(t: Test, path: string, debianPackage: string): boolean {
  if (existsSync(path)) return true;
  const how = `${path} is missing: apt-get install ${debianPackage} (bash .ci/run installs it)`;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    t.fail(how);
    return false;
  }
  t.skip(how, () => {});
  return false;
}
