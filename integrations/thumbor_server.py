"""thumbor: serve a folder of photos with rdjpeg's engine, on this machine only (127.0.0.1).

The configuration is thumbor's own; rdjpeg adds one line, ``ENGINE = "rdjpeg_plugins.thumbor"`` (``--stock`` leaves
thumbor's PIL engine), optionally ``RDJPEG_TARGET``, and its ``target()`` filter in ``FILTERS``. The server listens
on a socket bound here to 127.0.0.1 (port 0: a free one), prints ``http://127.0.0.1:PORT`` on its first line, and
with ``--lifetime`` stops by itself.

    python integrations/thumbor_server.py photos/ --port 8888
    curl -o thumb.jpg http://127.0.0.1:8888/unsafe/640x0/filters:quality(85)/kodim01.jpg
    curl -o thumb.jpg "http://127.0.0.1:8888/unsafe/640x0/filters:target(ssimulacra2:80)/kodim01.jpg"
"""

from __future__ import annotations

import argparse
import ast
import os
import signal
import socket
import sys
import tempfile
import threading

FILTERS = ["thumbor.filters.quality", "thumbor.filters.format", "thumbor.filters.max_bytes",
           "thumbor.filters.strip_exif", "thumbor.filters.strip_icc"]  # fmt: skip


def configuration(root: str, stock: bool = False, target: str | None = None, settings: dict | None = None) -> str:
    """thumbor.conf's text: the file loader on ``root``, no storage, rdjpeg's engine and filter unless ``stock``."""
    lines = {
        "LOADER": "thumbor.loaders.file_loader",
        "FILE_LOADER_ROOT_PATH": os.path.abspath(root),
        "STORAGE": "thumbor.storages.no_storage",
        "RESULT_STORAGE": None,
        "NON_BLOCKING_SOCKETS": True,  # the listening socket is handed over by its descriptor
        "ENGINE": "thumbor.engines.pil" if stock else "rdjpeg_plugins.thumbor",
        "FILTERS": FILTERS if stock else [*FILTERS, "rdjpeg_plugins.thumbor"],
    }
    if target is not None:
        lines["RDJPEG_TARGET"] = target
    lines.update(settings or {})
    return "".join(f"{name} = {value!r}\n" for name, value in lines.items())


def setting(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` (a Python literal) from the command line."""
    name, _, value = text.partition("=")
    return name.strip(), ast.literal_eval(value.strip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", help="the folder of photos to serve")
    parser.add_argument("--port", type=int, default=0, help="on 127.0.0.1 (default: a free port)")
    parser.add_argument("--stock", action="store_true", help="thumbor's own PIL engine, for comparisons")
    parser.add_argument("--target", help="RDJPEG_TARGET, such as ssimulacra2:80")
    parser.add_argument("--set", type=setting, action="append", default=[], metavar="NAME=VALUE",
                        help="another thumbor setting, a Python literal (QUALITY=85)")  # fmt: skip
    parser.add_argument("--lifetime", type=float, help="stop after this many seconds")
    args = parser.parse_args(argv)
    if args.stock and args.target:
        parser.error("--target is rdjpeg's: not with --stock")
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)  # noqa: SIM115  thumbor reads it by path
    with conf:
        conf.write(configuration(args.root, args.stock, args.target, dict(args.set)))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(128)
    print(f"http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    if args.lifetime:
        # thumbor stops on SIGTERM (its own handler), as when the caller ends it
        timer = threading.Timer(args.lifetime, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True  # and does not hold the process once thumbor has stopped
        timer.start()
    from thumbor.server import main as thumbor

    try:
        thumbor(["--conf", conf.name, "--fd", str(listener.fileno()), "--log-level", "error"])
    finally:
        os.unlink(conf.name)


if __name__ == "__main__":
    sys.exit(main())
