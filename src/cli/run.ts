// `nodegraf run`: the agent, until SIGTERM/SIGINT; SIGHUP reloads.
import { loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { inputList, noTargetsMessage, targetCount, UsageError, type ConfigOptions } from './options.js';
import { Runtime } from './runtime.js';

export async function runAgent(o: ConfigOptions): Promise<void> {
  const inputs = inputList(o);
  const { config, warnings } = loadConfig(o.configs, { inputs });
  if (targetCount(config) === 0)
    throw new UsageError(noTargetsMessage(o.configs, inputs) + ': nothing to do');
  const log = createLogger(o.logLevel ?? config.log.level, config.log.format);
  for (const w of warnings) log.warn({ file: w.file, line: w.line, key: w.key }, w.message);
  const rt = new Runtime({ configDir: o.configs, inputs }, log);
  await rt.start(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping: flushing queues');
    rt.stop().then(
      () => process.exit(0),
      (err: Error) => {
        log.error({ error: err.message }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    rt.reload().catch(() => undefined);
  });
}
