#!/usr/bin/env python3
"""Differential fuzzing of tornado-rs against Python Tornado.

Sends the same raw requests to tornado-rs (src/main.rs, an echo app) and to
Python Tornado (tornado_echo.py, its twin), each followed by a pipelined
canary request, and groups the cases where the two answer differently:
status, what each server made of the request (method, target, headers,
host, arguments, files, cookies), how many responses came back (a request
smuggled or swallowed changes that), whether the connection closed.

    fuzz/differential/run.py            # 3000 cases per family, seed 1
    fuzz/differential/run.py 20000 7    # more cases, another seed
    fuzz/differential/run.py 2000 1 responses   # one family

Four families: raw request heads and framing (mutated from hand-written
seeds), form bodies and cookies, path/query decoding, and responses (a
handler running the response operations the query names). Each difference
class is printed with its count and two examples; README.md lists the
classes already looked at and why they are deliberate. Needs `pip install
tornado` and a Rust toolchain; builds the echo server in release.
"""
import json
import os
import random
import re
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
H = b"Host: h\r\n"
CANARY = b"GET /canary HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n"


def exchange(port, data, idle=0.4):
    """Sends `data` on a fresh connection; returns (bytes read, closed)."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(idle)
    try:
        sock.sendall(data)
    except OSError:
        pass
    out, closed, started = b"", False, time.time()
    while time.time() - started < 3:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except OSError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        out += chunk
    sock.close()
    return out, closed


def parse_responses(raw, ports):
    """[(status, echoed JSON or None)] for each response in `raw`."""
    res = []
    while raw:
        m = re.match(rb"HTTP/1\.[01] (\d{3})[^\r\n]*\r\n", raw)
        end = raw.find(b"\r\n\r\n")
        if not m or end < 0:
            res.append(("garbage", raw[:60]))
            break
        head, raw = raw[:end].decode("latin-1"), raw[end + 4:]
        status = int(m.group(1))
        length = re.search(r"(?im)^content-length:\s*(\d+)", head)
        body = b""
        if length:
            body, raw = raw[: int(length.group(1))], raw[int(length.group(1)):]
        elif re.search(r"(?im)^transfer-encoding:\s*chunked", head):
            while True:
                e = raw.find(b"\r\n")
                size = int(raw[:e].split(b";")[0], 16)
                body += raw[e + 2: e + 2 + size]
                raw = raw[e + 4 + size:]
                if size == 0:
                    break
        try:
            echoed = json.loads(body) if status == 200 else None
        except ValueError:
            echoed = ("badjson", body[:40])
        res.append((status, normalize(echoed, ports)))
    return res


def normalize(j, ports):
    """Removes the differences that are only the servers' own (ports, spelling)."""
    if not isinstance(j, dict) or "version" not in j:
        return j
    j = dict(j)
    j["version"] = {"Http10": "HTTP/1.0", "Http11": "HTTP/1.1"}.get(j["version"], j["version"])
    port_re = "|".join(str(p) for p in ports)
    j["headers"] = [[n.lower(), re.sub(rf":({port_re})\b", ":PORT", v)] for n, v in j["headers"]]
    for k in ("host", "host_name"):
        j[k] = re.sub(rf":({port_re})\b", ":PORT", j[k])
    return j


def compare(ports, data):
    """None if both servers answer alike (both refusing counts as alike:
    their statuses differ by design), else both outcomes."""
    out = {}
    for name, port in ports.items():
        raw, closed = exchange(port, data)
        out[name] = (parse_responses(raw, ports.values()), closed)
    (rr, _), (pr, _) = out["rs"], out["py"]
    refused = lambda res: len(res) == 1 and isinstance(res[0][0], int) and res[0][0] >= 400
    if (refused(rr) and refused(pr)) or out["rs"] == out["py"]:
        return None
    return out


def difference(outcome):
    """A short key saying how two outcomes differ: the class of a case."""
    (rr, _), (pr, _) = outcome["rs"], outcome["py"]
    if len(rr) != len(pr):
        return f"responses rs={[s for s, _ in rr]} py={[s for s, _ in pr]}"
    keys = []
    for (a, ja), (b, jb) in zip(rr, pr):
        if a != b:
            keys.append(f"status {a}/{b}")
        elif isinstance(ja, dict) and isinstance(jb, dict):
            keys.append(",".join(k for k in ja if ja.get(k) != jb.get(k)) or "same")
    return "; ".join(keys) or "connection close"


SEEDS = [
 b"GET /a?x=1 HTTP/1.1\r\n" + H + b"\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked, gzip\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
 b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 5, 5\r\n\r\nhello",
 b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello",
 b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 005\r\n\r\nhello",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0005\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nA\r\nhellohello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5 ;x\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\nhello\n0\n\n",
 b"GET /h HTTP/1.1\r\n" + H + b"X-A : b\r\n\r\n",
 b"GET /h HTTP/1.1\r\n" + H + b"X-A: b\r\n c\r\n\r\n",
 b"GET /h HTTP/1.1\n" + b"Host: h\n" + b"X-A: b\n\n",
 b"GET /h HTTP/1.1\r\n" + H + b"X-A: b\x00c\r\n\r\n",
 b"GET /h HTTP/1.1\r\n" + H + b"X-A: \xe9\xff\r\n\r\n",
 b"GET /h HTTP/1.1\r\n" + H + b": b\r\n\r\n",
 b"GET  /h HTTP/1.1\r\n" + H + b"\r\n",
 b"GET\t/h\tHTTP/1.1\r\n" + H + b"\r\n",
 b"get /h HTTP/1.1\r\n" + H + b"\r\n",
 b"GET http://other:81/abs?q=1 HTTP/1.1\r\n" + H + b"\r\n",
 b"OPTIONS * HTTP/1.1\r\n" + H + b"\r\n",
 b"GET /v HTTP/1.0\r\n" + H + b"\r\n",
 b"GET /v HTTP/1.0\r\n" + H + b"Connection: keep-alive\r\n\r\n",
 b"GET /v HTTP/2.0\r\n" + H + b"\r\n",
 b"GET /v HTTP/1.2\r\n" + H + b"\r\n",
 b"GET /v HTTP/1.1 \r\n" + H + b"\r\n",
 b"GET /v\r\n\r\n",
 b"POST /e HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
 b"\r\n\r\nGET /lead HTTP/1.1\r\n" + H + b"\r\n",
 b"GET /q?a=1&a=2&b&c=&=d&%zz=1&e=%zz&f=+x+&g=%C3%A9&h=%e9 HTTP/1.1\r\n" + H + b"\r\n",
 b"GET /p%2Fq/../r#frag HTTP/1.1\r\n" + H + b"\r\n",
 b"GET /nohost HTTP/1.1\r\n\r\n",
 b"GET /twohost HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
 b"GET /v6 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
 b"GET /sp HTTP/1.1\r\nHost: a b\r\n\r\n",
 b"POST /f HTTP/1.1\r\n" + H + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 19\r\n\r\na=1&b=%zz&c=+&d=%41",
 b"POST /m HTTP/1.1\r\n" + H + b"Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 95\r\n\r\n--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue\r\n--XX--\r\n" + b" " * 20,
 b"DELETE /d HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nab",
 b"GET /body HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nab",
 b"GET /u?x=\xe9 HTTP/1.1\r\n" + H + b"\r\n",
 b"GET /ctl\x01 HTTP/1.1\r\n" + H + b"\r\n",
 b"GET /h HTTP/1.1\r\n" + H + b"Connection: close, keep-alive\r\n\r\n",
 b"GET /h HTTP/1.1\r\n" + H + b"Connection: Keep-Alive\r\nConnection: close\r\n\r\n",
 b"POST /p HTTP/1.0\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: identity\r\nContent-Length: 5\r\n\r\nhello",
 b"POST /p HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: identity\r\n\r\nhello",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX: y\r\n z\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
 b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
]
INTERESTING = [b" ", b"\t", b"\r", b"\n", b"\r\n", b":", b";", b",", b"0", b"\x00", b"\x7f", b"\x80", b"\xff", b"-", b"+", b"a", b"Z", b"%", b"?", b"#", b"\x0b", b"\x0c", b"/", b"9"]

def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(5)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            del data[min(pos, len(data) - 1)]
        elif op == 1:
            data[pos:pos] = rng.choice(INTERESTING)
        elif op == 2 and data:
            data[min(pos, len(data) - 1)] = rng.choice(INTERESTING)[0]
        elif op == 3 and len(data) > 4:
            a = rng.randrange(len(data) - 2); b = min(len(data), a + rng.randint(1, 8))
            data[a:a] = data[a:b]
        else:
            data = data.replace(b"\r\n", b"\n", 1) if rng.random() < 0.5 else data.replace(b" ", b"  ", 1)
    return bytes(data)

def req(ctype, body, extra=b""):
    return (b"POST /b?q=1&q=%20two%20&e= HTTP/1.1\r\nHost: h\r\nContent-Type: " + ctype +
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)

MP = (b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue a\r\n"
      b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n"
      b"--XyZ\r\nContent-Disposition: form-data; name=\"g\"; filename*=UTF-8''%C3%A9.txt\r\n\r\n\xc3\xa9\r\n"
      b"--XyZ--\r\n")
BODY_SEEDS = [
    (b"application/x-www-form-urlencoded", b"a=1&b=%zz&c=+&d=%41&a=2&e&=x&f=%C3%A9&g=%e9&h=a%00b&i=%20%09x%20"),
    (b"application/x-www-form-urlencoded; charset=utf-8", b"x=1;y=2&z=3"),
    (b"multipart/form-data; boundary=XyZ", MP),
    (b"multipart/form-data; boundary=\"XyZ\"", MP),
    (b"multipart/form-data; boundary=XyZ; charset=utf-8", MP),
    (b"Multipart/Form-Data; Boundary=XyZ", MP),
    (b"text/plain", b"a=1"),
]
COOKIES = [b"Cookie: a=1; b=\"q\\\"x\"; c=%20; d=\"\\351\"; e=x=y; f\r\n",
           b"Cookie: ses=abc; path=/; x[y]=1; $Version=1\r\n",
           b"Cookie: a=1;b=2 ; ; c\r\n"]

PIECES = [b"a", b"%2F", b"%2f", b"+", b"%20", b"%zz", b"%", b"%C3%A9", b"%e9", b"%00", b"%0A", b"%25", b"~", b"%7E", b".", b"..", b"%2E", b";", b"=", b"%3B", b"\xc3\xa9", b"%C3", b"%A9", b"%ff%fe", b"%E2%82", b"%E2%82%AC", b"@", b"!", b"$", b"'", b"(", b"*", b",", b":", b"[", b"]"]
QPIECES = [b"x=1", b"x=%zz", b"x=+", b"x=%C3%A9", b"x=%e9", b"x=a%00b", b"x=%20%09y%20", b"x", b"x=", b"x=%0Ab", b"x=\x01", b"x=a+b", b"x=%2B", b"&", b";", b"x=%ef%bf%bf", b"x=%ed%a0%80", b"x=%F0%9F%98%80", b"x=%7F", b"x=%C2%85", b"x=%E2%80%A8"]


def raw_cases(rng, n):
    return list(SEEDS) + [mutate(rng, rng.choice(SEEDS)) for _ in range(n)]


def body_cases(rng, n):
    items = [req(c, b) for c, b in BODY_SEEDS] + [req(b"text/plain", b"", c) for c in COOKIES]
    for _ in range(n):
        ctype, body = rng.choice(BODY_SEEDS)
        if rng.random() < 0.3:
            ctype = mutate(rng, ctype)
        else:
            body = mutate(rng, body)
        extra = rng.choice([b"", b""] + [mutate(rng, c) for c in COOKIES])
        items.append(req(ctype, body, extra))
    return items


def path_cases(rng, n):
    items = []
    for _ in range(n):
        a = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 4)))
        b = b"/".join(
            b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
            for _ in range(rng.randint(0, 3))
        )
        q = b"&".join(rng.choice(QPIECES) for _ in range(rng.randint(0, 3)))
        target = b"/p/" + a + b"/" + b + (b"?" + q if q else b"")
        items.append(b"GET " + target + b" HTTP/1.1\r\nHost: h\r\n\r\n")
    return items


STATUSES = ["200", "201", "204", "205", "301", "302", "303", "304", "307", "400", "404", "405", "418", "500", "503", "599", "600", "999", "+404", "abc"]
VALUES = ["", "v", "a b", " pad ", "\u00e9", "x\r\nX-Injected: y", "x\ny", "x\rz", "x\x00y", "x\x7fy", "x\ty", "x;y", "x,y", "\"q\"",
          "/", "/a b", "//e/x", "http://e/x?y=1#f", "../up", "?q", "x" * 300, "1", "-1", "0", "Lax", "None", "strict", "bogus"]
NAMES = ["X-A", "x-a", "Content-Type", "Content-Length", "Etag", "Transfer-Encoding", "Connection", "Date", "Server", "Set-Cookie",
         "Location", "Content-Encoding", "Vary", "Cache-Control", "Expires", "Last-Modified"]
COOKIE_NAMES = ["a", "sid", "a b", "a=b", "", "path", "x\u00e9", "$x", "x;y"]


def response_op(rng):
    """One operation of the Ops handler, as `run.py` encodes it."""
    v, n = lambda: rng.choice(VALUES), lambda: rng.choice(NAMES)
    kind = rng.choice("sShhaacwwjkKxrReEfFC")

    def header():
        # What porting.md lists as refused here and sent by Tornado (names
        # that are not tokens, a Content-Length that is not a number, 1xx
        # statuses) is left out, so the classes left are worth a look.
        name = n()
        return [name, str(rng.randint(0, 20)) if name == "Content-Length" else v()]
    fields = {
        "s": lambda: [rng.choice(STATUSES)], "S": lambda: [rng.choice(STATUSES), v()],
        "h": lambda: header(), "a": lambda: header(), "c": lambda: [n()],
        "w": lambda: [v()], "j": lambda: [v()],
        "k": lambda: [rng.choice(COOKIE_NAMES), v()],
        "K": lambda: [rng.choice(COOKIE_NAMES), v(), rng.choice(["", "e.com", v()]), rng.choice(["", "/p", v()]),
                      rng.choice(["", "0", "60", v()]), rng.choice("01"), rng.choice("01"), rng.choice(["", "Lax", "Strict", "None", v()])],
        "x": lambda: [rng.choice(COOKIE_NAMES)],
        "r": lambda: [v(), rng.choice("01")], "R": lambda: [v(), rng.choice(STATUSES)],
        "e": lambda: [rng.choice(STATUSES)], "E": lambda: [rng.choice(STATUSES), v()],
    }.get(kind, lambda: [])()
    return "|".join([kind] + fields)


def response_cases(rng, n):
    from urllib.parse import quote
    items = []
    for _ in range(n):
        ops = [response_op(rng) for _ in range(rng.randint(1, 4))]
        query = "&".join("o=" + quote(op.encode("utf-8"), safe="") for op in ops)
        method = rng.choice([b"GET", b"GET", b"HEAD"])
        extra = rng.choice([b"", b"", b"If-None-Match: *\r\n", b"Connection: close\r\n", b"Accept-Encoding: gzip\r\n"])
        items.append(method + b" /r?" + query.encode() + b" HTTP/1.1\r\nHost: h\r\n" + extra + b"\r\n")
    return items


def parse_full(raw, method):
    """[(status line, sorted headers without Date and Server, body)] for
    each response in `raw`: the whole answer, for the responses family."""
    res, first = [], True
    while raw:
        end = raw.find(b"\r\n\r\n")
        if not raw.startswith(b"HTTP/1.") or end < 0:
            res.append(("garbage", raw[:60]))
            break
        head, raw = raw[:end].split(b"\r\n"), raw[end + 4:]
        # Past ASCII, tornado-rs writes UTF-8 and Tornado Latin-1 (porting.md).
        head = [line.decode("utf-8") if line.isascii() or _is_utf8(line) else line.decode("latin-1") for line in head]
        status, headers = head[0], []
        for line in head[1:]:
            name, _, value = line.partition(":")
            name, value = name.lower(), value.strip()
            # A 405's Allow line is tornado-rs's own (porting.md).
            if name in ("date", "server", "allow"):
                continue
            headers.append((name, re.sub(r"expires=[^;]*", "expires=DATE", value)))
        fields = dict(headers)
        body = b""
        no_body = (first and method == b"HEAD") or status.split(" ")[1][:1] == "1" or status.split(" ")[1] in ("204", "304")
        if no_body:
            pass
        elif "content-length" in fields and fields["content-length"].isdigit():
            size = int(fields["content-length"])
            body, raw = raw[:size], raw[size:]
        elif fields.get("transfer-encoding") == "chunked":
            while True:
                e = raw.find(b"\r\n")
                try:
                    size = int(raw[:e].split(b";")[0], 16)
                except ValueError:
                    size = 0
                body += raw[e + 2: e + 2 + size]
                raw = raw[e + 4 + size:]
                if size == 0:
                    break
        else:
            body, raw = raw, b""
        # Only the case's own answer is compared whole; the canary's echo
        # JSON is spelled differently by the two servers.
        res.append((status, sorted(headers), body.decode("latin-1")) if first else (status,))
        first = False
    return res


def _is_utf8(line):
    try:
        line.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def compare_responses(ports, data):
    """None if both servers give the same answers, else both."""
    out = {}
    for name, port in ports.items():
        raw, closed = exchange(port, data)
        out[name] = (parse_full(raw, data.split(b" ", 1)[0]), closed)
    return None if out["rs"] == out["py"] else out


def response_difference(outcome):
    """The class of a responses-family difference: which parts differ."""
    (rr, _), (pr, _) = outcome["rs"], outcome["py"]
    if len(rr) != len(pr):
        return f"responses rs={[r[0] for r in rr]} py={[r[0] for r in pr]}"
    keys = []
    for a, b in zip(rr, pr):
        if a[0] != b[0]:
            keys.append(f"status {a[0]} / {b[0]}")
        elif len(a) == 1:
            continue
        elif a[1] != b[1]:
            names = sorted({n for n, _ in set(a[1]) ^ set(b[1])})
            keys.append("headers " + ",".join(names))
        elif a[2] != b[2]:
            keys.append("body")
    return "; ".join(keys) or "connection close"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port):
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"server on port {port} did not start")


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=HERE, check=True)
    ports = {"rs": free_port(), "py": free_port()}
    servers = [
        subprocess.Popen([os.path.join(HERE, "target/release/tornado-rs-differential"), str(ports["rs"])],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, os.path.join(HERE, "tornado_echo.py"), str(ports["py"])],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        for port in ports.values():
            wait_for(port)
        rng = random.Random(seed)
        families = sys.argv[3].split(",") if len(sys.argv) > 3 else ["raw", "bodies", "paths", "responses"]
        makers = {"raw": raw_cases, "bodies": body_cases, "paths": path_cases, "responses": response_cases}
        for family in families:
            cases = makers[family](rng, n)
            compare_case, key = ((compare_responses, response_difference) if family == "responses"
                                 else (compare, difference))
            classes = {}
            for case in cases:
                outcome = compare_case(ports, case + CANARY)
                if outcome:
                    classes.setdefault(key(outcome), []).append((case, outcome))
            print(f"## {family}: {len(cases)} cases, {len(classes)} classes of difference")
            for key, items in sorted(classes.items(), key=lambda kv: -len(kv[1])):
                print(f"=== {len(items)}x {key}")
                for case, outcome in items[:2]:
                    print(f"  case {case!r}")
                    print(f"    rs {outcome['rs']!r}")
                    print(f"    py {outcome['py']!r}")
    finally:
        for server in servers:
            server.kill()


if __name__ == "__main__":
    main()
