// Options shared by the commands that load a configuration.
import { SUPPORTED_INPUTS } from '../config/inputs.js';
import type { Config } from '../config/types.js';
export interface ConfigOptions {
  configs: string;
  inputs?: string;
  logLevel?: string;
}

/** A command line that cannot work: the program prints the message and exits 2. */
export class UsageError extends Error {}

/** `--inputs prometheus:kubelet`; an input nodegraf does not have is a usage error, not "no targets". */
export function inputList(o: ConfigOptions): string[] | undefined {
  if (!o.inputs) return undefined;
  const names = o.inputs.split(':').filter(Boolean);
  const unknown = names.filter((n) => !SUPPORTED_INPUTS.includes(n));
  if (unknown.length) {
    throw new UsageError(
      `--inputs ${unknown.join(':')}: nodegraf has no such input (it has ${SUPPORTED_INPUTS.join(', ')}; Categraf's other inputs are not supported)`,
    );
  }
  return names;
}

/** The targets a configuration defines (instances x urls). */
export function targetCount(config: Config): number {
  return config.inputs.reduce((a, i) => a + i.instances.reduce((b, inst) => b + inst.urls.length, 0), 0);
}

/** What to say when a configuration has nothing to scrape. */
export function noTargetsMessage(dir: string, inputs: string[] | undefined): string {
  const which = inputs
    ? inputs.map((n) => `input.${n}/`).join(', ')
    : 'input.prometheus/, input.kube_proxy/ or input.kubelet/';
  return `no targets: ${dir} has no [[instances]] with urls in ${which} (*.toml files)`;
}
