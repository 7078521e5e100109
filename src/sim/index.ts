// Node simulator (SPEC §9): kube-proxy, kubelet and cAdvisor endpoints of a worker node.
export { DEFAULT_TOKEN, startSimulator } from './simulator.js';
export type { Simulator, SimulatorFaults, SimulatorOptions } from './simulator.js';
export type { Behavior, NodeModel, SimContainer, SimPod } from './model.js';
