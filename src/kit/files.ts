// Where the kit's files are: the repository root and the alert rule files (one per group).
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const ALERT_FILES = ['nodegraf.yaml', 'kubernetes-node.yaml', 'pods.yaml', 'containers.yaml'];
