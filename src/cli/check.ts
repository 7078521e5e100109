// `nodegraf check`: validate and print the effective configuration, secrets redacted.
import { loadConfig } from '../config/load.js';
import { renderEffectiveConfig } from '../config/effective.js';
import { inputList, noTargetsMessage, targetCount, type ConfigOptions } from './options.js';

export function runCheck(o: ConfigOptions): number {
  const { config, warnings } = loadConfig(o.configs, { inputs: inputList(o) });
  for (const w of warnings) process.stderr.write(`warning: ${w.file}:${w.line}: ${w.key}: ${w.message}\n`);
  process.stdout.write(renderEffectiveConfig(config));
  const targets = targetCount(config);
  if (targets === 0) process.stderr.write(`warning: ${noTargetsMessage(o.configs, inputList(o))}\n`);
  process.stderr.write(
    `configuration OK: ${targets} target(s), ${config.writers.length} writer(s)${warnings.length ? `, ${warnings.length} warning(s)` : ''}\n`,
  );
  return 0;
}
