"""The Python Tornado twin of src/main.rs: the same routes, the same JSON."""
import hashlib
import json
import re
import sys

import tornado.ioloop
import tornado.web


def sorted_args(args):
    return sorted((k, [x.decode("utf-8", "replace") for x in v]) for k, v in args.items())


class Echo(tornado.web.RequestHandler):
    def echo(self, *_):
        r = self.request
        files = sorted(
            (k, [(f.filename, f.content_type, hashlib.sha1(f.body).hexdigest()) for f in fs])
            for k, fs in r.files.items()
        )
        decoded = []
        for name in sorted(r.arguments):
            try:
                decoded.append([name, self.get_arguments(name)])
            except Exception:
                decoded.append([name, "ERR"])
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps({
            "method": r.method, "uri": r.uri, "path": r.path, "query": r.query,
            "version": r.version, "host": r.host, "host_name": r.host_name,
            "headers": list(r.headers.get_all()), "body_len": len(r.body),
            "body_sha1": hashlib.sha1(r.body).hexdigest(),
            "qargs": sorted_args(r.query_arguments), "bargs": sorted_args(r.body_arguments),
            "files": files, "decoded": decoded,
            "cookies": sorted((k, v.value) for k, v in r.cookies.items()),
        }))

    get = post = put = delete = patch = options = echo


class PathEcho(tornado.web.RequestHandler):
    def get(self, a, b):
        try:
            decoded = self.get_query_arguments("x")
        except Exception:
            decoded = "ERR"
        self.write(json.dumps({"args": [a, b], "decoded": decoded}))


class Ops(tornado.web.RequestHandler):
    """The twin of src/main.rs's Ops: response operations from `o`."""
    async def get(self):
        for op in self.get_query_arguments("o"):
            p = op.split("|") + [""] * 9
            num = lambda i: int(p[i]) if re.fullmatch(r"\+?[0-9]+", p[i]) and int(p[i]) < 65536 else 200
            kind = p[0]
            if kind == "s":
                self.set_status(num(1))
            elif kind == "S":
                self.set_status(num(1), p[2])
            elif kind == "h":
                self.set_header(p[1], p[2])
            elif kind == "a":
                self.add_header(p[1], p[2])
            elif kind == "c":
                self.clear_header(p[1])
            elif kind == "w":
                self.write(p[1])
            elif kind == "j":
                self.write({"k": p[1]})
            elif kind == "k":
                self.set_cookie(p[1], p[2])
            elif kind == "K":
                kw = {}
                if p[3]: kw["domain"] = p[3]
                kw["path"] = p[4] or None
                if p[5].isdigit(): kw["max_age"] = int(p[5])
                if p[6] == "1": kw["httponly"] = True
                if p[7] == "1": kw["secure"] = True
                if p[8]: kw["samesite"] = p[8]
                self.set_cookie(p[1], p[2], **kw)
            elif kind == "x":
                self.clear_cookie(p[1])
            elif kind == "r":
                self.redirect(p[1], p[2] == "1")
            elif kind == "R":
                self.redirect(p[1], status=num(2))
            elif kind == "e":
                self.send_error(num(1))
            elif kind == "E":
                raise tornado.web.HTTPError(num(1), reason=p[2])
            elif kind == "f":
                await self.flush()
            elif kind == "F":
                self.finish()
            elif kind == "C":
                self.clear()

    head = get


app = tornado.web.Application([(r"/p/([^/]*)/(.*)", PathEcho), (r"/r", Ops), (r"/.*", Echo)])
app.listen(int(sys.argv[1]) if len(sys.argv) > 1 else 9102, "127.0.0.1")
tornado.ioloop.IOLoop.current().start()
