// A self-signed serving certificate for the simulated kubelet, made with the
// openssl command-line tool (as a kubelet without --tls-cert-file does at start).

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errnoCode, errorMessage } from '../errno.js';

export interface ServingCert {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  /** temporary directory to remove on close (undefined for user-supplied files) */
  tmpDir?: string;
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 20000 }, (err, _stdout, stderr) => {
      if (err)
        reject(new Error(`${cmd} failed: ${err.message}${stderr ? `\n${String(stderr).trim()}` : ''}`));
      else resolve();
    });
  });
}

/** Generates an ECDSA P-256 self-signed certificate valid for `days`, with SANs for host, localhost and the node name. */
export async function generateServingCert(host: string, nodeName: string, days = 365): Promise<ServingCert> {
  const tmpDir = await mkdtemp(join(tmpdir(), 'nodegraf-sim-'));
  const certFile = join(tmpDir, 'kubelet.crt');
  const keyFile = join(tmpDir, 'kubelet.key');
  const sans = new Set(['IP:127.0.0.1', 'DNS:localhost', `DNS:${nodeName}`]);
  if (isIP(host) && host !== '0.0.0.0' && host !== '::') sans.add(`IP:${host}`);
  else if (!isIP(host)) sans.add(`DNS:${host}`);
  try {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      String(days),
      '-subj',
      `/CN=${nodeName}@${Math.floor(Date.now() / 1000)}`,
      '-addext',
      `subjectAltName=${[...sans].join(',')}`,
    ]);
  } catch (e) {
    await rm(tmpDir, { recursive: true, force: true });
    const msg = errnoCode(e) === 'ENOENT' ? 'openssl not found on PATH' : errorMessage(e);
    throw new Error(
      `cannot generate the kubelet's self-signed certificate (${msg}); install openssl or pass certFile and keyFile`,
    );
  }
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { certPem, keyPem, certFile, keyFile, tmpDir };
}

export async function loadServingCert(certFile: string, keyFile: string): Promise<ServingCert> {
  const [certPem, keyPem] = await Promise.all([readFile(certFile, 'utf8'), readFile(keyFile, 'utf8')]);
  return { certPem, keyPem, certFile, keyFile };
}
