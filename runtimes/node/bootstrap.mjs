// Hayate Node.js runtime bootstrap.
//
// Runs inside a function sandbox as `node /var/runtime/node/bootstrap.mjs` and
// speaks the AWS Lambda Runtime API (base /2018-06-01) at
// $AWS_LAMBDA_RUNTIME_API, behaving, from the function's point of view, like
// the AWS nodejs20.x managed runtime (aws-lambda-nodejs-runtime-interface-client):
// handler resolution, CommonJS / ES module loading, async + callback handlers,
// context.done/succeed/fail, callbackWaitsForEmptyEventLoop, console patching,
// error shapes and the Runtime.* init errors.
//
// Speed: a tiny HTTP/1.1 client over ONE keep-alive `node:net` socket (faster
// than node:http + keepAlive Agent on the warm loop); the socket is opened
// while the function's module is still loading and is unref'd while the
// handler runs so 'beforeExit' fires exactly as on Lambda. No npm packages.

import net from 'node:net';
import Module, { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import fs from 'node:fs';
import path from 'node:path';
import util from 'node:util';

const env = process.env;
const require = createRequire(import.meta.url);

// ---------------------------------------------------------------------------
// Errors (names as on AWS: Runtime.<Class>)
// ---------------------------------------------------------------------------

class ImportModuleError extends Error {}
class HandlerNotFound extends Error {}
class MalformedHandlerName extends Error {}
class UserCodeSyntaxError extends Error {}
class NodeJsExit extends Error {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most commonly caused by a Promise that was never settled. For more information, see https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
for (const E of [ImportModuleError, HandlerNotFound, MalformedHandlerName, UserCodeSyntaxError, NodeJsExit, UnhandledPromiseRejection]) {
  E.prototype.name = `Runtime.${E.name}`;
}

function isErrorLike(o) {
  return (
    o && o.name && o.message && o.stack &&
    typeof o.name === 'string' && typeof o.message === 'string' && typeof o.stack === 'string'
  );
}

// Body posted to /invocation/{id}/error and /init/error. AWS node uses
// "trace"; "stackTrace" carries the same array.
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      const trace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
      return { errorType: error.name, errorMessage: error.message, trace, stackTrace: trace };
    }
    return { errorType: typeof error, errorMessage: error.toString(), trace: [], stackTrace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      trace: [],
      stackTrace: [],
    };
  }
}

function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

function withEnumerableProperties(error) {
  if (error instanceof Error) {
    const ret = Object.assign({ errorType: error.name, errorMessage: error.message, code: error.code }, error);
    if (typeof error.stack === 'string') ret.stack = error.stack.split('\n');
    return ret;
  }
  return error;
}

function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => withEnumerableProperties(v));
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// ---------------------------------------------------------------------------
// console patch: "<ISO time>\t<requestId>\t<LEVEL>\t<util.format(...)>"
// (all levels go to stdout, like on AWS, which keeps their order intact)
// ---------------------------------------------------------------------------

const REQUEST_ID_SYMBOL = Symbol.for('aws.lambda.runtime.requestId');
let currentRequestId; // undefined until the first invocation, as on AWS

function patchConsole() {
  const out = process.stdout;
  const format = util.format;
  const levels = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
  const min = levels[(env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] || 1;
  const nop = () => {};
  const make = (name) =>
    levels[name] >= min
      ? (...args) => {
          out.write(`${new Date().toISOString()}\t${currentRequestId}\t${name}\t${format(...args)}\n`);
        }
      : nop;
  console.trace = make('TRACE');
  console.debug = make('DEBUG');
  console.info = make('INFO');
  console.log = console.info;
  console.warn = make('WARN');
  console.error = make('ERROR');
  console.fatal = make('FATAL');
}

function logError(msg, err) {
  console.error(msg, toFormatted(intoError(err)));
}

// ---------------------------------------------------------------------------
// Minimal HTTP/1.1 client over one persistent keep-alive connection
// ---------------------------------------------------------------------------

class RuntimeApiClient {
  constructor(api) {
    let host = api;
    let port = 80;
    const i = api.lastIndexOf(':');
    if (i > 0 && api.indexOf(']', i) < 0) {
      host = api.slice(0, i);
      port = parseInt(api.slice(i + 1), 10);
    }
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
    this.host = host;
    this.port = port;
    this.hostHeader = api;
    this.sock = null;
    this.queue = []; // pending {method, path, headers, body, resolve, reject}
    this.cur = null; // request on the wire
  }

  connect() {
    if (this.sock) return;
    const s = net.createConnection({ host: this.host, port: this.port, noDelay: true });
    this.sock = s;
    this.chunks = [];
    this.len = 0;
    s.on('data', (chunk) => {
      if (this.sock !== s) return;
      this.chunks.push(chunk);
      this.len += chunk.length;
      this._parse();
    });
    s.on('error', () => {}); // 'close' follows and handles it
    s.on('close', () => this._onClose(s));
    if (!this.cur) s.unref();
  }

  // True while the connection is parked in the /next long poll.
  busyWithNext() {
    return !!this.cur && this.cur.method === 'GET';
  }

  // Returns a promise of {status, headers (lowercase keys), body: Buffer}.
  request(method, reqPath, headers, body) {
    return new Promise((resolve, reject) => {
      this.queue.push({ method, path: reqPath, headers: headers || '', body, resolve, reject, retried: false });
      if (!this.cur) this._next();
    });
  }

  _next() {
    const r = this.queue.shift();
    if (!r) {
      this.cur = null;
      if (this.sock) this.sock.unref(); // idle: don't keep the event loop alive
      return;
    }
    this.cur = r;
    r.gotAny = false;
    r.head = null;
    if (!this.sock) this.connect();
    this.sock.ref();
    let req;
    if (r.body === undefined) {
      req = `${r.method} ${r.path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n${r.headers}\r\n`;
    } else {
      req =
        `${r.method} ${r.path} HTTP/1.1\r\nHost: ${this.hostHeader}\r\n${r.headers}` +
        `Content-Length: ${Buffer.byteLength(r.body)}\r\n\r\n${r.body}`;
    }
    this.sock.write(req);
  }

  _buf() {
    const b = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.len);
    this.chunks = [b];
    return b;
  }

  _setBuf(b) {
    this.chunks = b.length ? [b] : [];
    this.len = b.length;
  }

  _parse() {
    for (;;) {
      const r = this.cur;
      if (!r) return; // unsolicited bytes; keep them for the next response
      if (this.len === 0) return;
      r.gotAny = true;
      if (!r.head) {
        const buf = this._buf();
        const idx = buf.indexOf('\r\n\r\n');
        if (idx < 0) return;
        const lines = buf.toString('latin1', 0, idx).split('\r\n');
        const sl = lines[0].split(' ');
        const status = parseInt(sl[1], 10);
        const headers = {};
        for (let i = 1; i < lines.length; i++) {
          const line = lines[i];
          const c = line.indexOf(':');
          if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
        }
        this._setBuf(buf.subarray(idx + 4));
        // Hayate's Runtime API answers HTTP/1.1 with a Content-Length, keeps the connection
        // open and sends no interim (1xx) responses: that is all this reads.
        const cl = headers['content-length'];
        if (cl === undefined) {
          this.cur = null;
          this._drop();
          r.reject(new Error('Runtime API answered without a Content-Length'));
          this._next();
          return;
        }
        r.head = { status, headers, length: parseInt(cl, 10) };
      }
      const h = r.head;
      if (this.len < h.length) return;
      const buf = this._buf();
      const body = buf.subarray(0, h.length);
      this._setBuf(buf.subarray(h.length));
      this._finish(r, body);
      // loop: more responses may already be buffered
    }
  }

  _finish(r, body) {
    const h = r.head;
    this.cur = null;
    r.resolve({ status: h.status, headers: h.headers, body });
    this._next();
  }

  _drop() {
    const s = this.sock;
    this.sock = null;
    this.chunks = [];
    this.len = 0;
    if (s) s.destroy();
  }

  _onClose(s) {
    if (this.sock !== s) return;
    const r = this.cur;
    this.sock = null;
    this.chunks = [];
    this.len = 0;
    if (!r) return; // idle keep-alive connection closed: reconnect on next use
    if (!r.gotAny && !r.retried) {
      // the kept-alive connection was closed under us: retry once, fresh socket
      r.retried = true;
      this.queue.unshift(r);
      this.cur = null;
      this._next();
      return;
    }
    this.cur = null;
    r.reject(new Error('Runtime API connection closed'));
    this._next();
  }
}

// ---------------------------------------------------------------------------
// Loading the function's code (same rules as the AWS nodejs runtime)
// ---------------------------------------------------------------------------

function hasFolderPackageJsonTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, '/package.json');
  if (fs.existsSync(pj)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(pj));
      if (pkg) return pkg.type === 'module';
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') return false;
  return hasFolderPackageJsonTypeModule(path.resolve(folder, '..'));
}

function tryRequireFile(file, ext) {
  const p = file + (ext || '');
  return fs.existsSync(p) ? require(p) : undefined;
}

async function tryAwaitImport(file, ext) {
  const p = file + (ext || '');
  return fs.existsSync(p) ? await import(pathToFileURL(p).href) : undefined;
}

async function tryRequire(appRoot, moduleRoot, module) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, module);
  const extensionless = tryRequireFile(lambdaStylePath);
  if (extensionless) return extensionless;
  const pjHasModule = hasFolderPackageJsonTypeModule(path.resolve(path.dirname(lambdaStylePath)));
  if (!pjHasModule) {
    const loaded = tryRequireFile(lambdaStylePath, '.js');
    if (loaded) return loaded;
  }
  const loaded =
    (pjHasModule && (await tryAwaitImport(lambdaStylePath, '.js'))) ||
    (await tryAwaitImport(lambdaStylePath, '.mjs')) ||
    tryRequireFile(lambdaStylePath, '.cjs');
  if (loaded) return loaded;
  // fall back to node's own resolution (node_modules, NODE_PATH, ...)
  const nodeStylePath = require.resolve(module, { paths: [appRoot, moduleRoot] });
  return require(nodeStylePath);
}

async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes('..')) {
    throw new MalformedHandlerName(
      `'${fullHandlerString}' is not a valid handler name. Use absolute paths when specifying root directories in handler names.`,
    );
  }
  const handlerString = path.basename(fullHandlerString);
  const moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString));
  const match = handlerString.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const [, module, handlerPath] = match;

  let app;
  try {
    app = await tryRequire(appRoot, moduleRoot, module);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
  const fn = handlerPath.split('.').reduce((o, k) => o && o[k], app);
  if (!fn) throw new HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerNotFound(`${fullHandlerString} is not a function`);
  return fn;
}

// ---------------------------------------------------------------------------
// Runtime
// ---------------------------------------------------------------------------

const NEXT = '/2018-06-01/runtime/invocation/next';
const INV = '/2018-06-01/runtime/invocation/';
const JSON_CT = 'Content-Type: application/json\r\n';

function headerValue(s) {
  return String(s).replace(/[\r\n]/g, ' ').replace(/[^\t\x20-\x7e]/g, '?');
}

function parseJsonHeader(value, name) {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

const api = env.AWS_LAMBDA_RUNTIME_API;
if (!api) {
  process.stderr.write('AWS_LAMBDA_RUNTIME_API is not set\n');
  process.exit(1);
}
const client = new RuntimeApiClient(api);
client.connect(); // handshake overlaps with loading the function's code

function fatal(err) {
  process.stderr.write(`[hayate-runtime] Runtime API request failed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
}

function postError(reqPath, err, via = client) {
  const r = toRapidResponse(err);
  let body;
  try {
    body = JSON.stringify(r);
  } catch (_) {
    body = JSON.stringify({ errorType: String(r.errorType), errorMessage: String(r.errorMessage), trace: [], stackTrace: [] });
  }
  return via.request(
    'POST',
    reqPath,
    `${JSON_CT}Lambda-Runtime-Function-Error-Type: ${headerValue(r.errorType)}\r\n`,
    body,
  );
}

function checkPost(what) {
  return (res) => {
    if (res.status >= 300) {
      process.stderr.write(`[hayate-runtime] ${what} rejected by Runtime API: ${res.status} ${res.body.toString().slice(0, 500)}\n`);
    }
  };
}

// phase / current invocation, used by the process-level error listeners.
// Like AWS, errors raised after init but before the first invocation arrives
// are still reported as init errors.
let initPhase = true;
let active = null; // the invocation in progress: { id, encId, reported }
let exiting = false;
let lastReport = Promise.resolve(); // the latest response/error POST
let beforeExitListener = () => {};

process.on('uncaughtException', (error) => {
  logError('Uncaught Exception', error);
  fatalReport(error, 129);
});
process.on('unhandledRejection', (reason, promise) => {
  const error = new UnhandledPromiseRejection(reason, promise);
  logError('Unhandled Promise Rejection', error);
  fatalReport(error, 128);
});
process.on('beforeExit', () => beforeExitListener());

// Uncaught exception / unhandled rejection: report it for the current
// invocation (or as the init error), then exit like AWS (129 / 128).
function fatalReport(error, code) {
  if (exiting) return;
  exiting = true;
  // the main connection may be parked in the /next long poll: use a second one
  const via = client.busyWithNext() ? new RuntimeApiClient(api) : client;
  let p;
  if (initPhase) {
    p = postError('/2018-06-01/runtime/init/error', error, via);
  } else if (active && !active.reported) {
    active.reported = true;
    p = postError(`${INV}${active.encId}/error`, error, via);
  } else {
    p = lastReport; // a response may still be on its way: let it arrive
  }
  p.then(() => process.exit(code), () => process.exit(code));
}

// Like AWS: "Error: <msg>" objects from the callback, legacy context methods,
// 'beforeExit' fallbacks; exactly one report per invocation.
function invoke(handler, isAsync, headers, bodyBuf) {
  return new Promise((resolveInvocation) => {
    const id = headers['lambda-runtime-aws-request-id'];
    const encId = encodeURIComponent(id === undefined ? '' : id);
    currentRequestId = id;
    globalThis[REQUEST_ID_SYMBOL] = id;
    const traceId = headers['lambda-runtime-trace-id'];
    if (traceId) env._X_AMZN_TRACE_ID = traceId;
    else delete env._X_AMZN_TRACE_ID;

    const inv = { id, encId, reported: false };
    active = inv;
    initPhase = false;

    const finish = (p, what) => {
      lastReport = p;
      p.then(checkPost(what), fatal).then(() => {
        if (active === inv) active = null;
        resolveInvocation();
      });
    };
    const complete = (result) => {
      if (inv.reported) {
        console.error('Invocation has already been reported as done. Cannot call complete more than once per invocation.');
        return;
      }
      let body;
      try {
        body = JSON.stringify(result === undefined ? null : result);
      } catch (_) {
        fail2(new Error('Unable to stringify response body'));
        return;
      }
      inv.reported = true;
      if (body === undefined) body = 'null';
      finish(client.request('POST', `${INV}${encId}/response`, JSON_CT, body), 'response');
    };
    const fail2 = (err) => {
      if (inv.reported) return;
      inv.reported = true;
      logError('Invoke Error', err);
      finish(postError(`${INV}${encId}/error`, err), 'error');
    };

    let waitForEmptyEventLoop = true;
    const callback = (err, result) => {
      beforeExitListener = () => {};
      if (err !== undefined && err !== null) fail2(err);
      else if (!waitForEmptyEventLoop) complete(result);
      else beforeExitListener = () => complete(result);
    };
    const done = (err, result) => {
      beforeExitListener = () => {};
      if (err !== undefined && err !== null) fail2(err);
      else complete(result);
    };
    // only the first of callback/succeed/fail/done counts
    let finished = false;
    const once = (fn) =>
      function () {
        if (!finished) {
          fn.apply(null, arguments);
          finished = true;
        }
      };
    const wrappedCallback = once(callback);
    const context = {
      get callbackWaitsForEmptyEventLoop() {
        return waitForEmptyEventLoop;
      },
      set callbackWaitsForEmptyEventLoop(value) {
        waitForEmptyEventLoop = value;
      },
      succeed: once((result) => done(null, result)),
      fail: once((err) => (err === undefined || err === null ? done('handled') : done(err, null))),
      done: once(done),
    };

    // the loop drained without the handler finishing: same fallback as AWS
    beforeExitListener = () => {
      beforeExitListener = () => {};
      finished = true;
      if (inv.reported) return;
      if (isAsync) fail2(new NodeJsExit());
      else complete(null);
    };

    try {
      const deadline = headers['lambda-runtime-deadline-ms'];
      Object.assign(context, {
        functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
        functionName: env.AWS_LAMBDA_FUNCTION_NAME,
        memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
        logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
        logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
        clientContext: parseJsonHeader(headers['lambda-runtime-client-context'], 'ClientContext'),
        identity: parseJsonHeader(headers['lambda-runtime-cognito-identity'], 'CognitoIdentity'),
        invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
        awsRequestId: id,
        getRemainingTimeInMillis: function () {
          return deadline - Date.now();
        },
      });
      const result = handler(JSON.parse(bodyBuf.toString('utf8')), context, wrappedCallback);
      if (result && typeof result.then === 'function') {
        result.then(context.succeed, context.fail).catch(context.fail);
      }
    } catch (err) {
      wrappedCallback(err);
    }
  });
}

async function main() {
  // module search path like AWS (NODE_PATH is read by require(), not import)
  if (!env.NODE_PATH) {
    const major = process.versions.node.split('.')[0];
    env.NODE_PATH = [
      `/opt/nodejs/node${major}/node_modules`,
      '/opt/nodejs/node_modules',
      '/var/runtime/node_modules',
      env.LAMBDA_TASK_ROOT || process.cwd(),
    ].join(':');
  }
  Module._initPaths();
  patchConsole();

  const appRoot = env.LAMBDA_TASK_ROOT || process.cwd();
  let handler;
  try {
    handler = await loadHandler(appRoot, env._HANDLER || '');
  } catch (error) {
    // same log line, init/error post and exit code as AWS (which gets here
    // through its uncaughtException listener)
    logError('Uncaught Exception', error);
    fatalReport(error, 129);
    return;
  }
  const isAsync = handler.constructor && handler.constructor.name === 'AsyncFunction';

  for (;;) {
    const res = await client.request('GET', NEXT);
    if (res.status !== 200) {
      process.stderr.write(`[hayate-runtime] /invocation/next failed: ${res.status} ${res.body.toString().slice(0, 500)}\n`);
      process.exit(1);
    }
    await invoke(handler, isAsync, res.headers, res.body);
  }
}

main().catch(fatal);
