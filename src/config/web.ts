// The agent's own server settings beyond the address: a Prometheus-style web configuration file
// (`[http] web_config_file`, the format of Prometheus's --web.config.file: TLS and basic auth with
// bcrypt hashes), Categraf's `cert_file`/`key_file`, the Host allowlist and the lifecycle switch.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { errorMessage } from '../errno.js';
import type { Table } from './reader.js';
import type { HttpConfig } from './types.js';

const BCRYPT = /^\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}$/;

/** The web config file's keys (tls_server_config, basic_auth_users), checked and resolved. */
export function parseWebConfig(
  t: Table,
  key: string,
  file: string,
): Pick<HttpConfig, 'tls' | 'basicAuthUsers'> {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw t.error(key, `cannot read the web configuration ${file}: ${errorMessage(err)}`);
  }
  const fail = (what: string) => t.error(key, `${file}: ${what}`);
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw fail('expected a mapping at the top');
  const out: Pick<HttpConfig, 'tls' | 'basicAuthUsers'> = {};
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    if (k === 'tls_server_config') {
      if (typeof v !== 'object' || v === null) throw fail('tls_server_config: expected a mapping');
      const tls = v as Record<string, unknown>;
      for (const tk of Object.keys(tls)) {
        if (tk !== 'cert_file' && tk !== 'key_file')
          throw fail(`tls_server_config.${tk} is not supported (cert_file and key_file are)`);
      }
      if (typeof tls.cert_file !== 'string' || typeof tls.key_file !== 'string')
        throw fail('tls_server_config needs cert_file and key_file');
      out.tls = { certFile: t.resolvePath(tls.cert_file), keyFile: t.resolvePath(tls.key_file) };
    } else if (k === 'basic_auth_users') {
      if (typeof v !== 'object' || v === null || Array.isArray(v))
        throw fail('basic_auth_users: expected a mapping of user name to bcrypt hash');
      const users: Record<string, string> = {};
      for (const [user, hash] of Object.entries(v as Record<string, unknown>)) {
        if (typeof hash !== 'string' || !BCRYPT.test(hash))
          throw fail(
            `basic_auth_users.${user}: expected a bcrypt hash ($2y$10$…; htpasswd -nBC 10 "" | tr -d ':')`,
          );
        users[user] = hash;
      }
      out.basicAuthUsers = users;
    } else {
      throw fail(`${k} is not supported (tls_server_config and basic_auth_users are)`);
    }
  }
  return out;
}
