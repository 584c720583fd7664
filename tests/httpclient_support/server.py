# A test peer for tornado-rs's HTTP client, written with Python's http.server
# (not our code). Prints its port, serves until stdin closes.
import gzip, os, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Server(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0
    lock = threading.Lock()

    def process_request(self, request, client_address):
        with self.lock:
            Server.connections += 1
        super().process_request(request, client_address)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b""):
                        pass
                    return body
                body += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        name, arg = parts[0], (parts[1] if len(parts) > 1 else "")
        if name == "hello":
            self.send(200, b"hello", [("Content-Type", "text/plain")])
        elif name == "port":
            self.send(200, str(self.client_address[1]).encode())
        elif name == "connections":
            self.send(200, str(Server.connections).encode())
        elif name == "redirect":
            n = int(arg)
            if n == 0:
                self.send(200, b"done")
            else:
                self.send(302, b"moved", [("Location", "/redirect/%d" % (n - 1))])
        elif name == "redirect_abs":
            port = self.server.server_address[1]
            self.send(301, b"", [("Location", "http://127.0.0.1:%d/hello" % port)])
        elif name == "echo_method":
            self.send(200, self.command.encode())
        elif name == "big":
            n = int(arg)
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            block = b"x" * 65536
            while n > 0:
                piece = block[: min(n, len(block))]
                self.wfile.write(piece)
                n -= len(piece)
        elif name == "slow":
            time.sleep(float(arg))
            self.send(200, b"slow")
        elif name == "close_mid":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            self.close_connection = True
        elif name == "lie":
            # Claims 1000 bytes, sends 10, and keeps the connection open.
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"0123456789")
            self.wfile.flush()
            time.sleep(0.3)
            self.close_connection = True
        elif name == "garbage":
            self.wfile.write(b"HELLO WORLD\r\n\r\n")
            self.close_connection = True
        elif name == "close_delimited":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the close")
            self.close_connection = True
        elif name == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"chunk one ", b"chunk two"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
        elif name == "gzip":
            body = b"hello gzip " * 1000
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                self.send(200, gzip.compress(body), [("Content-Encoding", "gzip")])
            else:
                self.send(200, body)
        elif name == "headers":
            lines = "".join("%s: %s\n" % (k, v) for k, v in self.headers.items())
            self.send(200, lines.encode())
        elif name == "status":
            self.send(int(arg), b"status body")
        else:
            self.send(404, b"not found")

    do_HEAD = do_GET
    do_DELETE = do_GET

    def do_POST(self):
        if self.path == "/see_other":
            self.read_body()
            self.send(303, b"", [("Location", "/echo_method")])
        elif self.path == "/temporary":
            body = self.read_body()
            self.send(307, b"", [("Location", "/echo")])
        else:
            body = self.read_body()
            self.send(200, self.command.encode() + b" " + body)

    do_PUT = do_POST

def main():
    server = Server(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the test process goes away
    os._exit(0)

main()
