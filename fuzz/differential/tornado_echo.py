"""The Python Tornado twin of src/main.rs: the same routes, the same JSON."""
import hashlib
import json
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


app = tornado.web.Application([(r"/p/([^/]*)/(.*)", PathEcho), (r"/.*", Echo)])
app.listen(int(sys.argv[1]) if len(sys.argv) > 1 else 9102, "127.0.0.1")
tornado.ioloop.IOLoop.current().start()
