"""Python Tornado peer: one process, one IOLoop.

    python3 benches/peers/tornado_server.py --port 8080

Serves GET /plaintext, GET /json and GET /stream/bytes?n=N&chunk=K
(N bytes of a-z repeating, K-byte chunks, flushed after each).
"""
import asyncio
import sys

import tornado.ioloop
import tornado.iostream
import tornado.options
import tornado.web

ALPHABET = b"abcdefghijklmnopqrstuvwxyz"

tornado.options.define("port", default=8080, type=int, help="TCP port (127.0.0.1)")


class PlaintextHandler(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/plain")
        self.write(b"Hello, World!")


class JsonHandler(tornado.web.RequestHandler):
    def get(self):
        self.write({"message": "Hello, World!"})


class StreamHandler(tornado.web.RequestHandler):
    async def get(self):
        n = int(self.get_argument("n", "0"))
        chunk = max(1, int(self.get_argument("chunk", "4096")))
        pattern = (ALPHABET * (chunk // 26 + 2))[: chunk + 26]
        self.set_header("Content-Type", "application/octet-stream")
        sent = 0
        try:
            while sent < n:
                length = min(chunk, n - sent)
                start = sent % 26
                self.write(pattern[start : start + length])
                await self.flush()
                sent += length
        except tornado.iostream.StreamClosedError:
            return
        self.finish()


def command_line_args(argv):
    """tornado.options takes only --name=value; accept --name value too."""
    args, i = [argv[0]], 1
    while i < len(argv):
        arg = argv[i]
        if arg.startswith("--") and "=" not in arg and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            args.append(f"{arg}={argv[i + 1]}")
            i += 2
        else:
            args.append(arg)
            i += 1
    return args


async def main():
    tornado.options.parse_command_line(command_line_args(sys.argv))
    app = tornado.web.Application(
        [
            (r"/plaintext", PlaintextHandler),
            (r"/json", JsonHandler),
            (r"/stream/bytes", StreamHandler),
        ]
    )
    app.listen(tornado.options.options.port, "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
