// A relabel rule as Prometheus's relabel_configs define it (model/relabel), with every default
// filled in. The config loader produces them; ./relabel.ts compiles them.

export type RelabelAction =
  | 'replace'
  | 'keep'
  | 'drop'
  | 'keepequal'
  | 'dropequal'
  | 'hashmod'
  | 'labelmap'
  | 'labeldrop'
  | 'labelkeep'
  | 'lowercase'
  | 'uppercase';

export interface RelabelConfig {
  sourceLabels: string[];
  separator: string; // default ";"
  regex: string; // default "(.*)"
  modulus: number;
  targetLabel: string;
  replacement: string; // default "$1"
  action: RelabelAction; // default "replace"
}
