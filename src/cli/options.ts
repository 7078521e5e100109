// Options shared by the commands that load a configuration.
export interface ConfigOptions {
  configs: string;
  inputs?: string;
  logLevel?: string;
}

export function inputList(o: ConfigOptions): string[] | undefined {
  return o.inputs ? o.inputs.split(':').filter(Boolean) : undefined;
}
