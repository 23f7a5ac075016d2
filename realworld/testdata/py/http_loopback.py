"""http_loopback.py: http.server.ThreadingHTTPServer on 127.0.0.1:0 in a thread,
three urllib.request clients in threads, then shutdown(). Deterministic
output; exit 0, or 1 with "FAIL ..." on stderr."""
import http.server
import sys
import threading
import urllib.request


class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello " + self.path.lstrip("/")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hello)
server = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1})
server.start()
url = "http://127.0.0.1:%d/" % srv.server_address[1]
bodies = [None] * 3


def get(i):
    with urllib.request.urlopen(url + str(i), timeout=5) as r:
        bodies[i] = r.read().decode()


clients = [threading.Thread(target=get, args=(i,)) for i in range(3)]
for t in clients:
    t.start()
for t in clients:
    t.join()
srv.shutdown()
server.join()
srv.server_close()
if bodies != ["hello 0", "hello 1", "hello 2"]:
    print("FAIL bodies", bodies, file=sys.stderr)
    sys.exit(1)
print("http:", ", ".join(bodies))
