#!/usr/bin/env node
/**
 * The `xinge` command. Each subcommand is one entry of COMMANDS (name, usage line, run);
 * adding one is adding an entry. Every failure is printed as what went wrong and what to
 * do, without a stack trace (cli-errors.ts); exit 1 for a failure, 2 for a usage error.
 */
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfigFile } from './config/load.js';
import { describeFailure, UsageError } from './cli-errors.js';

interface Command {
  usage: string;
  /** Lines printed by `xinge COMMAND --help` after the usage line. */
  help?: string;
  /** Resolves with an exit code, or undefined to keep running (daemon, simulator). */
  run(args: string[]): Promise<number | undefined>;
}

const SIM_HELP = `Runs the SMSC simulator alone (tests, benchmarks). Options:
  --host H                 listen address (default 127.0.0.1)
  --port N                 SMPP port (default 2775)
  --system-id ID           account system_id (default xinge)
  --password PW            account password (default secret)
  --accounts id:pw,...     extra accounts
  --receipt-delay-ms N     delay before each delivery receipt
  --receipt-mix DELIVRD=90,UNDELIV=10   outcome mix of receipts
  --receipts all|last|none which segments get receipts
  --receipt-copies N       send each receipt N times (a carrier resending receipts)
  --receipt-retry-ms N     send a receipt again N ms after an error resp (up to 10 times), as SMSCs do
  --slow-ms N              delay before each submit_sm_resp
  --throttle-every N       answer every Nth submit with ESME_RTHROTTLED
  --error-every N:STATUS   answer every Nth submit with STATUS
  --drop-after N           drop the connection after N submits
  --silent                 never answer submits
  --id-format decimal|hex|hex-upper, --receipt-id-format ..., --id-start N
  --record-limit N         submits kept in memory for inspection (default 10000)
  --http-port N            serve the handset view (/sim/) on this port
  --mmsc-port N            also run an MMSC simulator; its --mmsc-* options are in docs/mms.md`;

function argValue(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i >= 0) {
    const v = args[i + 1];
    if (v === undefined || v.startsWith('--')) throw new UsageError(`${name} needs a value`, `xinge ${name} FILE`);
    return v;
  }
  const eq = args.find((a) => a.startsWith(`${name}=`));
  return eq?.slice(name.length + 1);
}

const COMMANDS: Record<string, Command> = {
  run: {
    usage: 'xinge [--config FILE]            run the daemon (default: the embedded config/default.yaml)',
    async run(args) {
      for (const a of args) {
        if (a.startsWith('--') && a !== '--config' && !a.startsWith('--config=')) throw new UsageError(`unknown option ${a}`, 'xinge --help');
      }
      const file = argValue(args, '--config') ?? DEFAULT_CONFIG_PATH;
      const { runDaemon } = await import('./daemon.js');
      await runDaemon(file);
      return undefined;
    },
  },
  'check-config': {
    usage: 'xinge check-config FILE          validate a config: every error with its YAML path',
    async run(args) {
      const file = args[0];
      if (file === undefined) throw new UsageError('check-config needs a file', 'xinge check-config FILE');
      try {
        loadConfigFile(file);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        for (const e of err.errors) process.stdout.write(`${e}\n`);
        process.stderr.write(`${err.errors.length} error${err.errors.length === 1 ? '' : 's'} in ${file}: fix them and run xinge check-config ${file} again\n`);
        return 1;
      }
      process.stdout.write('OK\n');
      return 0;
    },
  },
  sim: {
    usage: 'xinge sim [options]              run the SMSC simulator alone (xinge sim --help)',
    help: SIM_HELP,
    async run(args) {
      const { runSimCli } = await import('./sim/run-sim.js');
      await runSimCli(args);
      return undefined;
    },
  },
  backup: {
    usage: 'xinge backup FILE [--config F]  hot backup of the live store (docs/runbook.md)',
    run: async (args) => (await import('./cli/backup.js')).runBackupCli('backup', args),
  },
  restore: {
    usage: 'xinge restore FILE [--config F] put a backup back while the daemon is stopped',
    run: async (args) => (await import('./cli/backup.js')).runBackupCli('restore', args),
  },
};

function usage(): string {
  return `usage:\n${Object.values(COMMANDS)
    .map((c) => `  ${c.usage}`)
    .join('\n')}\n  xinge COMMAND --help             options of a command\n`;
}

async function main(argv: string[]): Promise<number | undefined> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  const named = first !== undefined && !first.startsWith('-');
  if (named && COMMANDS[first] === undefined) throw new UsageError(`unknown command ${first}`, 'xinge --help');
  const name = named ? first : 'run';
  const cmd = COMMANDS[name]!;
  const args = named ? rest : argv;
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`usage: ${cmd.usage}\n${cmd.help === undefined ? '' : `${cmd.help}\n`}`);
    return 0;
  }
  return cmd.run(args);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    const f = describeFailure(err);
    process.stderr.write(`xinge: ${f.text}\n`);
    process.exit(f.exitCode);
  },
);
