#!/usr/bin/env node
/**
 * xinge [--config FILE]       run the daemon (default: the embedded config/default.yaml)
 * xinge check-config FILE     validate a config: prints every error with its YAML path, exit 1; or OK, exit 0
 * xinge sim [options]         run the SMSC simulator alone (tests, benchmarks)
 * xinge backup FILE | restore FILE   hot backup of the store / put a backup back (src/cli/backup.ts)
 */
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfigFile } from './config/load.js';

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

async function main(argv: string[]): Promise<number | undefined> {
  const [cmd, ...rest] = argv;
  if (cmd === 'check-config') {
    const file = rest[0];
    if (file === undefined) {
      process.stderr.write('usage: xinge check-config FILE\n');
      return 2;
    }
    try {
      loadConfigFile(file);
      process.stdout.write('OK\n');
      return 0;
    } catch (err) {
      if (err instanceof ConfigError) {
        for (const e of err.errors) process.stdout.write(`${e}\n`);
        return 1;
      }
      throw err;
    }
  }
  if (cmd === 'backup' || cmd === 'restore') return (await import('./cli/backup.js')).runBackupCli(cmd, rest);
  if (cmd === 'sim') {
    const { runSimCli } = await import('./sim/run-sim.js');
    await runSimCli(rest);
    return undefined;
  }
  if (cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write('usage: xinge [--config FILE] | xinge check-config FILE | xinge sim [--port N] [--receipt-delay-ms N] ...\n');
    return 0;
  }
  const { runDaemon } = await import('./daemon.js');
  try {
    await runDaemon(argValue(argv, '--config') ?? DEFAULT_CONFIG_PATH);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  return undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`xinge: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
