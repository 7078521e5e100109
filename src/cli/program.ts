// nodegraf command line (SPEC §2). Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/types.js';
import { UsageError } from './options.js';
import { LOG_LEVELS } from '../config/types.js';
import { VERSION } from '../version.js';

const DEFAULT_CONFIGS = './conf';

function commonOptions(cmd: Command): Command {
  return cmd
    .option('--configs <dir>', 'configuration directory (config.toml, input.*/)', DEFAULT_CONFIGS)
    .addOption(
      new Option('--log-level <level>', 'log level (overrides [log] level)').choices([...LOG_LEVELS]),
    );
}

function fail(err: unknown): never {
  if (err instanceof UsageError) {
    process.stderr.write(`nodegraf: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`nodegraf: configuration error: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  process.stderr.write(`nodegraf: ${(err as Error)?.message ?? String(err)}\n`);
  if (process.env.NODEGRAF_DEBUG) console.error(err);
  process.exit(1);
}

export function buildProgram(): Command {
  const program = new Command('nodegraf')
    .description('Metrics agent for Kubernetes worker nodes (reads Categraf configuration)')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .enablePositionalOptions()
    .showHelpAfterError();
  commonOptions(program)
    .option('--test', 'scrape and print samples to stdout instead of writing them (Categraf test mode)')
    .option('--inputs <list>', 'only these inputs, separated by ":" (e.g. prometheus)')
    .option('--once', 'with --test: scrape every target once, print, exit 0 only if every target was up')
    .option(
      '--cardinality',
      'with --test --once: print what the series cost (per job, family, pod and label; the families no shipped dashboard or alert reads) instead of the samples',
    )
    .addOption(
      new Option('--format <format>', 'with --test: output format')
        .choices(['categraf', 'prom'])
        .default('categraf'),
    )
    .action(async (o) => {
      if (o.test) {
        const { runTest } = await import('./test-mode.js');
        process.exitCode = await runTest(o);
      } else if (o.once || o.format !== 'categraf' || o.cardinality) {
        throw new UsageError(
          `${o.once ? '--once' : o.cardinality ? '--cardinality' : '--format'} works with --test only (e.g. nodegraf --test --once)`,
        );
      } else {
        const { runAgent } = await import('./run.js');
        await runAgent(o);
      }
    });

  commonOptions(program.command('run').description('run the agent (the default command)'))
    .option('--inputs <list>', 'only these inputs, separated by ":"')
    .action(async (o) => {
      const { runAgent } = await import('./run.js');
      await runAgent(o);
    });

  commonOptions(
    program.command('check').description('validate the configuration and print it, secrets redacted'),
  )
    .option('--inputs <list>', 'only these inputs')
    .action(async (o) => {
      const { runCheck } = await import('./check.js');
      process.exitCode = runCheck(o);
    });

  commonOptions(
    program.command('doctor').description('probe every target and writer once and explain each failure'),
  )
    .option('--inputs <list>', 'only these inputs')
    .action(async (o) => {
      const { runDoctor } = await import('./doctor.js');
      process.exitCode = await runDoctor(o);
    });

  program
    .command('simulate')
    .description('serve what a worker node serves (kube-proxy, kubelet, cAdvisor, /pods) on 127.0.0.1')
    .option('--host <host>', 'listen address (loopback only)', '127.0.0.1')
    .option('--kube-proxy-port <port>', 'kube-proxy metrics port', '10249')
    .option('--kube-proxy-health-port <port>', 'kube-proxy healthz port', '10256')
    .option('--kubelet-port <port>', 'kubelet HTTPS port', '10250')
    .option('--pods <n>', 'number of pods', '12')
    .option('--series <n>', 'approximate extra cAdvisor series (benchmark load)', '0')
    .option('--churn <share>', 'share of the pods replaced per minute (new names, UIDs, container ids)', '0')
    .option('--token <token...>', 'bearer token(s) the kubelet accepts')
    .option('--token-file <file>', 'write an accepted token to this file')
    .option('--cert <file>', 'kubelet TLS certificate (default: self-signed, generated)')
    .option('--key <file>', 'kubelet TLS key')
    .action(async (o) => {
      const { runSimulate } = await import('./simulate.js');
      await runSimulate(o);
    });

  program
    .command('demo')
    .description("simulator + the article's configuration + status page: the whole job without Kubernetes")
    .option('--remote-write <url>', 'also write to this remote-write URL (e.g. a local VictoriaMetrics)')
    .option('--http <address>', 'status page address', '127.0.0.1:9101')
    .option('--interval <seconds>', 'scrape interval', '15')
    .option('--duration <seconds>', 'stop after this many seconds (default: until Ctrl-C)')
    .option(
      '--store',
      "also start a local VictoriaMetrics (scripts/install-peers.sh), write into it, and print the article's container recipes it evaluates",
    )
    .action(async (o) => {
      const { runDemo } = await import('./demo.js');
      await runDemo(o);
    });
  return program;
}

// Categraf's flags are single-dash Go flags (`-test -inputs prometheus`): accept both spellings.
function normalizeArgs(argv: string[]): string[] {
  const long = new Set(['-test', '-inputs', '-configs', '-once', '-format', '-version', '-help']);
  return argv.map((a) => {
    const name = a.split('=')[0];
    return long.has(name) ? '-' + a : a;
  });
}

export function main(argv: string[]): void {
  buildProgram().parseAsync(normalizeArgs(argv)).catch(fail);
}
