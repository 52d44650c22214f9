"""An authorization hook for the access-control tests (spec/auth.md, AUTH-16), started by
compat/run-local.sh next to a server given --auth-url. It answers by the last segment of the channel in the
JSON body (allow... and slow... 200, slow after 3 s; unauth... 401; deny... 403; anything else 500) and
answers GET with everything it was sent, as JSON. Prints its port, then serves until killed."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEEN = []
LOCK = threading.Lock()


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with LOCK:
            self.reply(200, json.dumps(SEEN).encode())

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with LOCK:
            SEEN.append({"body": body, "cookie": self.headers.get("Cookie"),
                         "authorization": self.headers.get("Authorization"), "origin": self.headers.get("Origin"),
                         "content_type": self.headers.get("Content-Type")})
        channel = body["channel"].rsplit("/", 1)[-1]  # decided by the channel's last segment
        if channel.startswith("slow"):
            time.sleep(3)
        status = (200 if channel.startswith(("allow", "slow")) else 401 if channel.startswith("unauth")
                  else 403 if channel.startswith("deny") else 500)
        self.reply(status)


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    print(server.server_address[1], flush=True)
    server.serve_forever()
