// What the simulated Kubernetes components (kube-proxy.ts, kubelet.ts) share: the build info of
// Kubernetes 1.30, the bucket layouts of their histograms (from the captures in fixtures/real/),
// the API server's address and counters of events over time.

import type { Wave } from './util.js';

export const GIT_VERSION = 'v1.30.4';
export const BUILD_INFO =
  'build_date="2024-08-14T19:21:35Z",compiler="gc",git_commit="a51b3b711150f57ffc1f526a640ec058514ed596",git_tree_state="clean",git_version="' +
  GIT_VERSION +
  '",go_version="go1.22.5",major="1",minor="30",platform="linux/amd64"';
export const BUILD_INFO_HELP =
  "[ALPHA] A metric with a constant '1' value labeled by major, minor, git version, git commit, git tree state, build date, Go version, and compiler from which Kubernetes was built, and platform on which it is running.";

/** Bucket layouts (from the captures). */
export const B_EXP2 = [
  0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384,
];
export const B_NETPROG = [
  0, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
  27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53,
  54, 55, 56, 57, 58, 59, 60, 65, 70, 75, 80, 85, 90, 95, 100, 105, 110, 115, 120, 150, 180, 210, 240, 270,
  300,
];
export const B_REST = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];
export const B_SIZE = [64, 256, 512, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];
export const B_KUBELET = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const B_RUNTIME = [
  0.005, 0.0125, 0.03125, 0.078125, 0.1953125, 0.48828125, 1.220703125, 3.0517578125, 7.62939453125,
  19.073486328125, 47.6837158203125, 119.20928955078125, 298.0232238769531, 745.0580596923828,
];
export const B_STORAGE = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600];
export const B_PER_POD = [1, 2, 4, 8, 16];

/** A counter of events at an average rate since start, modulated by a wave. */
export function counterFn(wave: Wave, start: number, ratePerS: number, base = 0): (t: number) => number {
  return (t) => base + ratePerS * wave.integral(start, t);
}

export const API_HOST = '10.0.0.2:6443';
