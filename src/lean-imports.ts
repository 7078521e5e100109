// node:http and undici, loaded without what the agent never uses. Both pulled in Node.js's own
// bundled undici (fetch, WebSocket and their WASM HTTP parser) through a lazy global getter:
// - an ESM `import … from 'node:http'` builds the builtin's namespace, which reads every export,
//   and on Node.js 22+ `http.WebSocket` is such a getter; require() reads only what is used;
// - undici's index.js loads its fetch, cookies and WebSocket code (110 files) and touches
//   `globalThis.Headers`; the agent needs the Agent, the request API and the redirect interceptor
//   (33 files), so they are required one by one, and the API is attached to Dispatcher's prototype
//   as index.js does. These paths are undici's internals: package.json pins its exact version, and
//   the package test loads them.
// Measured on Node 24.22, idle on the shipped configuration: 85 MiB RSS before, 81 after (a bare
// node is 43). src/cli/package.test.ts refuses value imports of either elsewhere in the agent.
import { createRequire } from 'node:module';
import type * as Undici from 'undici';

const require = createRequire(import.meta.url);

export const http = require('node:http') as typeof import('node:http');

const Dispatcher = require('undici/lib/dispatcher/dispatcher.js') as typeof Undici.Dispatcher;
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js'));

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
export type Agent = Undici.Agent;
export const redirectInterceptor =
  require('undici/lib/interceptor/redirect.js') as typeof Undici.interceptors.redirect;
