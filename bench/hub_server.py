"""The barest single-user server for bench/hub.py's second spawn storm.

``kernel.testing.mockserver`` costs about 50 ms of CPU to start (Python, its
package, ``http.server``), so 100 of them keep two cores busy for 2.5 s
whichever hub starts them. This one imports nothing beyond the interpreter's
core (run it with ``python -I -S``): it listens where ``JUPYTERHUB_SERVICE_URL``
says, answers ``{prefix}api`` with 200 and anything else with 404, one
request per connection, so that the storm measures the hubs rather than the
servers. SIGINT and SIGTERM end it, as their default actions do.
"""

import os
import socket


def main() -> None:
    url = os.environ["JUPYTERHUB_SERVICE_URL"]  # http://127.0.0.1:PORT/user/NAME/
    host_port, _, path = url.split("://", 1)[1].partition("/")
    host, _, port = host_port.rpartition(":")
    api = f"GET /{path}api ".encode()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host or "127.0.0.1", int(port)))
    listener.listen(128)
    while True:
        conn, _ = listener.accept()
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                request += chunk
            status, body = ((b"200 OK", b'{"version": "bare"}') if request.startswith(api)
                            else (b"404 Not Found", b"{}"))
            conn.sendall(b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                         % (status, len(body), body))


if __name__ == "__main__":
    main()
