"""The ``sclc`` command line: the parser, error handling and exit codes. The commands live in
:mod:`sclc.commands`, one module per group. User errors print one line and exit with code 2."""

from __future__ import annotations

import argparse
import sys

from sclc.errors import SclcError


def make_parser() -> argparse.ArgumentParser:
    from sclc import commands

    parser = _Parser(prog="sclc", description="Learned screen content image compression toolkit")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_all(sub)
    return parser


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error (argparse prints the usage first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _quiet_stdout() -> None:
    """The reader of our stdout has gone (``sclc models | head``): point stdout at /dev/null so
    that the interpreter's final flush does not print a BrokenPipeError of its own."""
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (captured in tests)
        pass


def main(argv: list[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    where = f"sclc {args.command}"
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handlers below
        return code
    except SclcError as exc:
        message = str(exc)
    except BrokenPipeError:
        _quiet_stdout()
        return 141  # as if killed by SIGPIPE, the shell's convention
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        message = "out of memory (try a smaller image, or a smaller SCLC_MAX_MEMORY_GB)"
    except OSError as exc:  # disk full, permission denied, a file vanished: the system's words suffice
        name = f" {exc.filename}" if exc.filename else ""
        message = f"{exc.strerror or exc}{':' + name if name else ''}"
    print(f"{where}: error: {' '.join(message.split())}", file=sys.stderr)  # one line, whatever the message
    return 2


# Commands whose process may end without tearing the interpreter down (see run).
_FAST_EXIT = ("compress", "decompress")


def run() -> None:
    """The console entry point. After compress and decompress the process ends at once instead of
    unloading torch and CompressAI, which takes about a second, as long as decoding a small file.
    Their outputs are complete by then: written, fsynced and renamed (sclc.imageio.atomic_write)."""
    import os

    code = main()
    if len(sys.argv) > 1 and sys.argv[1] in _FAST_EXIT:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
