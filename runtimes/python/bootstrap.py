"""Hayate Python runtime bootstrap.

Runs inside a function sandbox as ``python3 -u /var/runtime/python/bootstrap.py``
and speaks the AWS Lambda Runtime API (base /2018-06-01) at
$AWS_LAMBDA_RUNTIME_API, behaving, from the function's point of view, like the
AWS python3.x managed runtime (awslambdaric).

Startup cost is kept minimal on purpose:
  * only builtin/C modules are imported up front (``_socket``, ``_json``);
    ``socket``, ``json``, ``re``, ``enum``, ``http.client``, ``traceback`` and
    ``logging`` are never imported by the bootstrap on the happy path;
  * the Lambda-style root logging handler is installed lazily, the moment the
    function's code imports ``logging`` (a one-shot meta-path hook);
  * one persistent keep-alive TCP connection is reused for every request.
Stdlib only.
"""

import sys
import os
import _socket
from time import time as _time

_environ = os.environ
# the file name our frames carry in tracebacks (the .py path even when this
# runs from a precompiled bootstrap.pyc)
_BOOTSTRAP_FILE = (lambda: None).__code__.co_filename

# ---------------------------------------------------------------------------
# JSON: the C accelerator directly (the ``json`` package pulls in ``re`` and
# ``enum``, ~10 ms). Output is byte-identical to json.dumps() defaults; any
# input the fast decoder does not accept is re-parsed by json.loads() so the
# exact stdlib error message is reported.
# ---------------------------------------------------------------------------


def _json_default(o):
    # Decimal (e.g. from boto3 DynamoDB) is serialised as a number, as the real
    # runtime does with simplejson. Checked by name to avoid importing decimal.
    t = type(o)
    if t.__name__ == "Decimal" and t.__module__ in ("decimal", "_decimal", "_pydecimal"):
        if o.is_nan():
            return float("nan")
        if o == o.to_integral_value():
            return int(o)
        return float(o)
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def _ensure_ascii():
    # AWS runtimes python3.12 and later emit non-ASCII characters as they are
    # (ensure_ascii=False); older ones escape them (\uXXXX).
    ev = _environ.get("AWS_EXECUTION_ENV", "")
    if ev.startswith("AWS_Lambda_python3."):
        try:
            return int(ev[len("AWS_Lambda_python3.") :]) < 12
        except ValueError:
            pass
    return True


_ENSURE_ASCII = _ensure_ascii()

try:
    from _json import make_encoder as _c_make_encoder
    from _json import make_scanner as _c_make_scanner

    if _ENSURE_ASCII:
        from _json import encode_basestring_ascii as _c_encode_str
    else:
        from _json import encode_basestring as _c_encode_str

    def _json_dumps(o):
        if isinstance(o, str):
            return _c_encode_str(o)
        return "".join(
            _c_make_encoder({}, _json_default, _c_encode_str, None, ": ", ", ", False, False, True)(o, 0)
        )

    def _parse_constant(name, _c={"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}):
        return _c[name]

    class _ScanCtx:
        strict = True
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = staticmethod(_parse_constant)
        memo = None

    _scan_once = _c_make_scanner(_ScanCtx())

    def _json_loads(data):
        try:
            s = data.decode("utf-8") if not isinstance(data, str) else data
            start = len(s) - len(s.lstrip(" \t\n\r"))
            obj, end = _scan_once(s, start)
            if end != len(s.rstrip(" \t\n\r")):
                raise ValueError
            return obj
        except Exception:
            import json  # slow path: exact stdlib semantics and error messages

            return json.loads(data)

    # self-check; falls back to the json package if the C API ever differs
    if _json_dumps({"a": [1, 2.5, None, True, "\u00e9"]}) != (
        '{"a": [1, 2.5, null, true, "\\u00e9"]}' if _ENSURE_ASCII else '{"a": [1, 2.5, null, true, "\u00e9"]}'
    ) or _json_loads(
        b' {"a": [1, 2.5, null, true, "x"]} '
    ) != {"a": [1, 2.5, None, True, "x"]}:
        raise ImportError
except Exception:  # pragma: no cover - only on unusual interpreters
    import json as _json_mod

    def _json_dumps(o):
        return _json_mod.dumps(o, default=_json_default, ensure_ascii=_ENSURE_ASCII)

    _json_loads = _json_mod.loads


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class FaultException(Exception):
    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


def _make_error(error_message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _fault_from_exc_info(exc_info, invoke_id=None):
    """Error document for an arbitrary exception, like the real runtime:
    stackTrace = traceback.format_list() of the frames below the bootstrap."""
    import traceback

    etype, value, tb = exc_info
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i in range(len(frames)):
        if frames[i][0] != _BOOTSTRAP_FILE:
            frames = frames[i:]
            break
    else:
        frames = []
    return _make_error(str(value), etype.__name__, traceback.format_list(frames), invoke_id)


def _log_error(err):
    """Write the error to the function log the way Lambda does:
    "[ERROR] Type: message" followed by the traceback lines (to stdout, where
    the real runtime's log sink writes it)."""
    desc = "[ERROR]"
    etype = err.get("errorType")
    if etype:
        desc += " " + etype
    emsg = err.get("errorMessage")
    if emsg:
        if etype:
            desc += ":"
        desc += " " + emsg
    lines = [desc]
    st = err.get("stackTrace")
    if st is not None:
        lines.append("Traceback (most recent call last):")
        for el in st:
            if el == "":
                lines.append("")
            else:
                lines.extend(el.splitlines())
    try:
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()
    except Exception:
        pass


# ---------------------------------------------------------------------------
# Minimal HTTP/1.1 client over one persistent keep-alive connection
# ---------------------------------------------------------------------------


class _ConnectionLost(Exception):
    def __init__(self, partial):
        self.partial = partial


class RuntimeApiClient:
    __slots__ = ("host", "port", "family", "host_header", "sock", "buf")

    def __init__(self, api):
        host, _, port = api.rpartition(":")
        if not host:
            host, port = api, "80"
        self.family = _socket.AF_INET
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
            self.family = _socket.AF_INET6
        elif ":" in host:
            self.family = _socket.AF_INET6
        self.host = host
        self.port = int(port)
        self.host_header = api.encode("latin-1")
        self.sock = None
        self.buf = b""

    def _connect(self):
        # Blocking with no timeout: /next is a long poll that may last hours
        # (set explicitly: the function may have called
        # socket.setdefaulttimeout(), which new sockets would inherit).
        s = _socket.socket(self.family, _socket.SOCK_STREAM)
        s.settimeout(None)
        try:
            s.connect((self.host, self.port))
        except _socket.gaierror:
            # a hostname this address family cannot resolve (e.g. an IPv6-only
            # name): resolve generically. (bytes host: avoids the idna codec)
            s.close()
            s = None
            err = None
            for fam, typ, proto, _, addr in _socket.getaddrinfo(
                self.host.encode("idna" if not self.host.isascii() else "ascii"), self.port, 0, _socket.SOCK_STREAM
            ):
                s = _socket.socket(fam, typ, proto)
                s.settimeout(None)
                try:
                    s.connect(addr)
                    err = None
                    break
                except OSError as e:
                    err = e
                    s.close()
            if err is not None:
                raise err
            if s is None:
                raise OSError("cannot resolve Runtime API host %r" % (self.host,))
        except BaseException:
            s.close()
            raise
        try:
            s.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self.sock = s
        self.buf = b""

    def close(self):
        s = self.sock
        self.sock = None
        self.buf = b""
        if s is not None:
            try:
                s.close()
            except OSError:
                pass

    def request(self, method, path, body=None, headers=b""):
        """Send one request; returns (status, headers{lowercase: str}, body bytes).
        Reconnects and retries once if the kept-alive connection turned out to
        be closed before any byte of the response arrived."""
        if body is None:
            req = b"%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (method, path, self.host_header, headers)
        else:
            req = b"%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %d\r\n\r\n%s" % (
                method,
                path,
                self.host_header,
                headers,
                len(body),
                body,
            )
        for attempt in (0, 1):
            if self.sock is None:
                self._connect()
            try:
                self.sock.sendall(req)
                return self._read_response()
            except _ConnectionLost as e:
                self.close()
                if attempt or e.partial:
                    raise ConnectionError("Runtime API closed the connection")
            except OSError:
                self.close()
                if attempt:
                    raise

    def _recv(self, partial):
        try:
            chunk = self.sock.recv(65536)
        except InterruptedError:  # pragma: no cover (PEP 475 retries anyway)
            return b""
        if not chunk:
            raise _ConnectionLost(partial)
        return chunk

    def _read_response(self):
        # Hayate's Runtime API answers HTTP/1.1 with a Content-Length, keeps the connection
        # open and sends no interim (1xx) responses: that is all this reads.
        buf = self.buf
        got_any = bool(buf)
        i = buf.find(b"\r\n\r\n")
        while i < 0:
            buf += self._recv(got_any)
            got_any = True
            i = buf.find(b"\r\n\r\n")
        head = buf[:i].decode("latin-1").split("\r\n")
        buf = buf[i + 4 :]
        status = int(head[0].split(None, 2)[1])
        hdrs = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()

        cl = hdrs.get("content-length")
        if cl is None:
            raise ConnectionError("Runtime API answered without a Content-Length")
        n = int(cl)
        if len(buf) < n:
            parts = [buf]
            have = len(buf)
            while have < n:
                chunk = self._recv(True)
                parts.append(chunk)
                have += len(chunk)
            buf = b"".join(parts)
        self.buf = buf[n:]
        return status, hdrs, buf[:n]


_SAFE_ID = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _quote_id(request_id):
    b = request_id.encode("utf-8")
    if all(c in _SAFE_ID for c in b):
        return b
    return b"".join(bytes((c,)) if c in _SAFE_ID else b"%%%02X" % c for c in b)


def _header_value(s):
    return str(s).replace("\r", " ").replace("\n", " ").encode("latin-1", "replace")


# ---------------------------------------------------------------------------
# Context object (same attributes as awslambdaric.lambda_context.LambdaContext)
# ---------------------------------------------------------------------------


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"cognito_identity_id={self.cognito_identity_id},"
            f"cognito_identity_pool_id={self.cognito_identity_pool_id}"
            "])"
        )


class Client(object):
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"installation_id={self.installation_id},"
            f"app_title={self.app_title},"
            f"app_version_name={self.app_version_name},"
            f"app_version_code={self.app_version_code},"
            f"app_package_name={self.app_package_name}"
            "])"
        )


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return f"{self.__class__.__name__}([custom={self.custom},env={self.env},client={self.client}])"


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    get = d.get if isinstance(d, dict) else (lambda k, _=None: None)
    for field in cls.__slots__:
        setattr(obj, field, get(field, None))
    return obj


class LambdaContext(object):
    def __init__(self, invoke_id, client_context, cognito_identity, epoch_deadline_time_in_ms, invoked_function_arn=None):
        self.aws_request_id = invoke_id
        self.log_group_name = _environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = _environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = _environ.get("AWS_LAMBDA_FUNCTION_NAME")
        # NOTE: a str, exactly like the real runtime (it is read from the env)
        self.memory_limit_in_mb = _environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = _environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = None

        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)

        self.identity = _obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None and isinstance(cognito_identity, dict):
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")

        self._epoch_deadline_time_in_ms = epoch_deadline_time_in_ms

    def get_remaining_time_in_millis(self):
        delta_ms = self._epoch_deadline_time_in_ms - int(_time() * 1000)
        return delta_ms if delta_ms > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            f"{self.__class__.__name__}(["
            f"aws_request_id={self.aws_request_id},"
            f"log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn},"
            f"client_context={self.client_context},"
            f"identity={self.identity},"
            f"tenant_id={self.tenant_id}"
            "])"
        )


def _parse_json_header(value, name):
    try:
        return _json_loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR, "Unable to parse {} JSON: {}".format(name, str(e)), None
        )


# ---------------------------------------------------------------------------
# logging: Lambda-style root handler, installed only if the code uses logging
# ---------------------------------------------------------------------------

_current_request_id = None


def _setup_logging(logging):
    import time

    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record):
            try:
                msg = self.format(record)
                sys.stdout.write(msg)
            except Exception:
                self.handleError(record)

    class LambdaLoggerFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _current_request_id or ""
            record.tenant_id = None
            return True

    logging.Formatter.converter = time.gmtime
    handler = LambdaLoggerHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(LambdaLoggerFilter())
    root = logging.getLogger()
    level = (_environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    if level:
        if level == "WARN":
            level = "WARNING"
        if level in logging._nameToLevel:
            root.setLevel(level)
    root.addHandler(handler)


class _AfterImportHook:
    """Meta-path finder that only watches for one module: it lets the normal
    finders locate the module and runs ``setup(module)`` right after the module
    has executed, then removes itself. Costs nothing if the module is never
    imported."""

    def __init__(self, name, setup):
        self.name = name
        self.setup = setup
        self.busy = False
        self.done = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name or self.busy or self.done:
            return None
        self.busy = True
        try:
            spec = None
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find = getattr(finder, "find_spec", None)
                if find is not None:
                    spec = find(fullname, path, target)
                    if spec is not None:
                        break
        finally:
            self.busy = False
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        orig_exec = loader.exec_module
        hook = self

        def exec_module(module):
            orig_exec(module)
            try:
                del loader.exec_module  # back to the class's method
            except AttributeError:
                pass
            if not hook.done:
                hook.done = True
                try:
                    sys.meta_path.remove(hook)
                except ValueError:
                    pass
                try:
                    hook.setup(module)
                except Exception:
                    pass

        try:
            loader.exec_module = exec_module
        except (AttributeError, TypeError):  # pragma: no cover - exotic loader
            pass
        return spec


def _endpoint_from_environment(session_module):
    """botocore 1.31 and later send every client to $AWS_ENDPOINT_URL, where
    Hayate's API is forwarded into the sandbox; older ones (Debian 12 has 1.29)
    ignore it. For those, a client made without an endpoint_url gets that one,
    so that boto3.client("sqs") reaches Hayate without configuration."""
    url = _environ.get("AWS_ENDPOINT_URL")
    if not url:
        return
    try:
        import botocore

        version = tuple(int(part) for part in botocore.__version__.split(".")[:2])
    except Exception:
        return
    if version >= (1, 31):
        return
    session_class = session_module.Session
    create_client = session_class.create_client

    def create_client_at_endpoint(self, *args, **kwargs):
        # endpoint_url is create_client's sixth parameter after self
        if len(args) < 6 and kwargs.get("endpoint_url") is None:
            kwargs["endpoint_url"] = _environ.get("AWS_ENDPOINT_URL") or None
        return create_client(self, *args, **kwargs)

    session_class.create_client = create_client_at_endpoint


# ---------------------------------------------------------------------------
# Handler loading
# ---------------------------------------------------------------------------


def _setup_sys_path(task_root):
    # `python3 /var/runtime/python/bootstrap.py` puts the bootstrap's own
    # directory first on sys.path; the function must not see it.
    if sys.path and (sys.path[0] == "" or os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__))):
        del sys.path[0]
    # Same order as on AWS: task root, then the layer directories.
    layer_site = "/opt/python/lib/python%d.%d/site-packages" % sys.version_info[:2]
    front = [task_root] + [p for p in (layer_site, "/opt/python") if os.path.isdir(p)]
    sys.path[:] = front + [p for p in sys.path if p not in front]


def _get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(FaultException.MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, str(e)))

    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        name = modname.replace("/", ".")
        __import__(name)
        m = sys.modules[name]
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR, "Unable to import module '{}': {}".format(modname, str(e))
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR, "Syntax error in module '{}': {}".format(modname, str(e)), trace
        )

    try:
        request_handler = getattr(m, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND, "Handler '{}' missing on module '{}'".format(fname, modname), None
        )
    return request_handler


# ---------------------------------------------------------------------------
# Main loop
# ---------------------------------------------------------------------------

_NEXT = b"/2018-06-01/runtime/invocation/next"
_INV = b"/2018-06-01/runtime/invocation/"
_JSON_CT = b"Content-Type: application/json\r\n"


def _post_error(client, path, err):
    body = _json_dumps(err).encode("utf-8")
    hdr = _JSON_CT + b"Lambda-Runtime-Function-Error-Type: " + _header_value(err.get("errorType", "")) + b"\r\n"
    return client.request(b"POST", path, body, hdr)


def _check_post(status, body, what):
    if status >= 300:
        try:
            sys.stderr.write(
                "[hayate-runtime] %s rejected by Runtime API: %d %s\n"
                % (what, status, body[:500].decode("utf-8", "replace"))
            )
        except Exception:
            pass


def _unbuffer_stdio():
    # `python3 -u` already makes stdout/stderr unbuffered (write-through); if we
    # were started without it, rebuild them so prints are never held in a
    # buffer when the response is posted.
    import io  # already loaded by the interpreter at startup

    for name, fd in (("stdout", 1), ("stderr", 2)):
        old = getattr(sys, name)
        if getattr(old, "write_through", False) and type(getattr(old, "buffer", None)) is io.FileIO:
            continue  # -u / PYTHONUNBUFFERED: already unbuffered
        try:
            old.flush()
            enc = getattr(old, "encoding", None) or "utf-8"
            errors = getattr(old, "errors", None) or "strict"
            new = io.TextIOWrapper(io.FileIO(fd, "w", closefd=False), encoding=enc, errors=errors, write_through=True)
            setattr(sys, name, new)
            setattr(sys, "__%s__" % name, new)
        except Exception:
            pass


def main():
    global _current_request_id
    _unbuffer_stdio()

    api = _environ.get("AWS_LAMBDA_RUNTIME_API")
    if not api:
        sys.stderr.write("AWS_LAMBDA_RUNTIME_API is not set\n")
        sys.exit(1)
    client = RuntimeApiClient(api)

    task_root = _environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    _setup_sys_path(task_root)

    for name, setup in (("logging", _setup_logging), ("botocore.session", _endpoint_from_environment)):
        if name in sys.modules:
            setup(sys.modules[name])
        else:
            sys.meta_path.insert(0, _AfterImportHook(name, setup))

    # ---- init: import the function's module ------------------------------
    handler_name = _environ.get("_HANDLER", "")
    try:
        request_handler = _get_handler(handler_name)
    except Exception as e:
        if isinstance(e, FaultException):
            err = _make_error(e.msg, e.exception_type, e.trace)
        else:
            err = _fault_from_exc_info(sys.exc_info())
        _log_error(err)
        try:
            _post_error(client, b"/2018-06-01/runtime/init/error", err)
        except Exception as pe:
            sys.stderr.write("[hayate-runtime] could not post init error: %r\n" % (pe,))
        sys.exit(1)

    # ---- invoke loop ------------------------------------------------------
    request = client.request
    dumps = _json_dumps
    loads = _json_loads
    while True:
        status, headers, body = request(b"GET", _NEXT)
        if status != 200:
            sys.stderr.write(
                "[hayate-runtime] /invocation/next failed: %d %s\n" % (status, body[:500].decode("utf-8", "replace"))
            )
            sys.exit(1)
        invoke_id = headers.get("lambda-runtime-aws-request-id", "")
        _current_request_id = invoke_id
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id is not None:
            _environ["_X_AMZN_TRACE_ID"] = trace_id
        elif "_X_AMZN_TRACE_ID" in _environ:
            del _environ["_X_AMZN_TRACE_ID"]

        err = None
        try:
            cc = headers.get("lambda-runtime-client-context")
            ci = headers.get("lambda-runtime-cognito-identity")
            deadline = headers.get("lambda-runtime-deadline-ms")
            context = LambdaContext(
                invoke_id,
                _parse_json_header(cc, "Client Context") if cc else None,
                _parse_json_header(ci, "Cognito Identity") if ci else None,
                int(deadline) if deadline else 0,
                headers.get("lambda-runtime-invoked-function-arn"),
            )
            try:
                event = loads(body)
            except Exception as e:
                raise FaultException(
                    FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(str(e)), None
                )
            response = request_handler(event, context)
            if isinstance(response, bytes):
                result = response
                ctype = b"Content-Type: application/unknown\r\n"
            else:
                try:
                    result = dumps(response).encode("utf-8")
                except Exception as e:
                    raise FaultException(
                        FaultException.MARSHAL_ERROR, "Unable to marshal response: {}".format(str(e)), None
                    )
                ctype = _JSON_CT
        except FaultException as e:
            err = _make_error(e.msg, e.exception_type, e.trace, invoke_id)
        except Exception:
            err = _fault_from_exc_info(sys.exc_info(), invoke_id)

        # make sure everything the function printed is out before we respond
        # (a no-op on the unbuffered streams, but the function may have
        # replaced sys.stdout / sys.stderr)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass

        rid = _quote_id(invoke_id)
        if err is None:
            status, _, rbody = request(b"POST", _INV + rid + b"/response", result, ctype)
            _check_post(status, rbody, "response")
        else:
            _log_error(err)
            status, _, rbody = _post_error(client, _INV + rid + b"/error", err)
            _check_post(status, rbody, "error")


if __name__ == "__main__":
    try:
        main()
    except (ConnectionError, OSError) as _e:
        # the Runtime API went away (sandbox being torn down): exit quietly
        try:
            sys.stderr.write("[hayate-runtime] Runtime API connection failed: %r\n" % (_e,))
        except Exception:
            pass
        os._exit(1)
