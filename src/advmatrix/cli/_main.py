"""The entry point, and the one place where errors become a line on stderr and an exit code.

``advmatrix scan`` is dispatched before typer is imported: it is the command pipelines run on
every artifact, and typer + click cost ~65 ms of its start-up (bench/RESULTS.md). Every other
command goes through the typer application in ``_app``.
"""

from __future__ import annotations

import sys

from ..errors import AdvmatrixError


def _dispatch(argv: list[str]) -> int:
    if argv[:1] == ["scan"]:
        from .scan import run_scan

        return run_scan(argv[1:])
    import click
    import typer

    from ._app import app

    _once(app, argv)
    try:
        # not standalone: click's usage errors come back here to be said in one line, not drawn as a box
        code = app(args=argv, prog_name="advmatrix", standalone_mode=False)
        if code == 130:  # typer turns Ctrl-C into an exit of 130 before any handler sees it
            print("advmatrix: interrupted", file=sys.stderr)
        return code if isinstance(code, int) else 0
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # the help a bare group or command prints is what was asked for
        return exc.exit_code
    except click.ClickException as exc:
        command = exc.ctx.command_path if getattr(exc, "ctx", None) else "advmatrix"
        if command == "advmatrix":  # some errors come before the subcommand's context: name it from argv
            words = [a for a in argv if not a.startswith("-")][:2]
            group = typer.main.get_command(app)
            sub = getattr(group, "commands", {}).get(words[0]) if words else None
            if sub is not None:
                command += f" {words[0]}" + (f" {words[1]}" if len(words) > 1 and words[1] in getattr(
                    sub, "commands", {}) else "")
        hint = f" (see {command} --help)" if isinstance(exc, click.UsageError) else ""
        text = exc.format_message()
        if isinstance(exc, click.NoSuchCommand) and "Did you mean" in exc.message:
            # typer writes its suggestion into the message and click appends its own again
            text = exc.message
        # click lists choices on lines of their own ("Choose from:\n\tjson,\n\tmd"): one line here
        said = " ".join(part.strip() for part in _escaped(text, argv).split("\n") if part.strip())
        _say(f"{said}{hint}", argv)
        return exc.exit_code
    except click.Abort:
        print("advmatrix: interrupted", file=sys.stderr)
        return 130
    except SystemExit as exc:
        # click meets a closed pipe (output piped into head) by wrapping stdout and exiting 1, which would read as
        # "--fail-on holds" to a CI gate: it is no error, as a BrokenPipeError reaching _run is not
        if exc.code == 1 and type(sys.stdout).__name__.lstrip("_") == "PacifyFlushWrapper":
            return 0
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)


def _once(app: object, argv: list[str]) -> None:
    """An option that takes one value, given twice, is an error: click keeps the last silently, so a
    second --overlay was never read and a second --fail-on replaced the first."""
    import click
    import typer

    from ..errors import UsageError

    cmd = typer.main.get_command(app)  # type: ignore[arg-type]
    args = argv[:argv.index("--")] if "--" in argv else argv
    rest = list(args)
    while isinstance(cmd, click.Group) and rest and rest[0] in cmd.commands:
        cmd = cmd.commands[rest.pop(0)]
    if "--help" in rest:  # help is eager in click: asked for, it is shown whatever else the line holds
        return
    for param in cmd.params:
        if isinstance(param, click.Option) and not (param.is_flag or param.count):
            names = set(param.opts) | set(param.secondary_opts)
            # an empty value reads as "not given" further on: '--out ""' ran the demo into the current
            # directory, '--tactic ""' listed every technique
            empty = any(a.split("=", 1)[0] in names and a.endswith("=") and a.count("=") == 1 for a in rest) or any(
                a in names and i + 1 < len(rest) and rest[i + 1] == "" for i, a in enumerate(rest))
            if empty:
                raise UsageError(f"{max(param.opts, key=len)}: an empty value; give one, or leave the option out")
    for param in cmd.params:
        if not isinstance(param, click.Option) or param.multiple or param.count or param.is_flag:
            continue
        names = set(param.opts) | set(param.secondary_opts)
        short = [n for n in names if len(n) == 2 and not n.startswith("--")]
        # '-oA' is '-o A': attached short options count too
        given = [a for a in rest if a.split("=", 1)[0] in names
                 or any(a.startswith(n) and len(a) > 2 and not a.startswith("--") for n in short)]
        if len(given) > 1:
            raise UsageError(f"{param.opts[-1] if len(param.opts) == 1 else max(param.opts, key=len)} given "
                             f"{len(given)} times; give it once")


class _Terminated(BaseException):
    """SIGTERM (``timeout``, a cancelled CI job, ``kill``), raised where the program is: the cleanups that
    run for Ctrl-C (temporary files, an ``--out`` directory this run made) run for it too, where the
    default handler would end the process on the spot."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the process exit code.

    Usage errors are reported by the parsers (exit 2); everything advmatrix raises on purpose
    becomes one line here, so no user ever sees a traceback for bad input. Ctrl-C exits 130 and SIGTERM
    143, each after the same cleanups, with one line saying so.
    """
    import signal
    import threading
    import warnings

    main_thread = threading.current_thread() is threading.main_thread()  # only it may set handlers
    before = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        return _run(argv)
    finally:
        warnings.showwarning = shown
        if main_thread:
            signal.signal(signal.SIGTERM, before)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    """A warning (ours, or a library's: torch, scikit-learn) as one ``advmatrix: warning:`` line, not
    Python's two lines naming a source file and quoting its code. A library's deprecation notice is for
    its programmers, not for whoever runs advmatrix (Python shows it only where a filter asks)."""
    if issubclass(category, (DeprecationWarning, PendingDeprecationWarning)):
        return
    text = next((part.strip() for part in str(message).splitlines() if part.strip()), category.__name__)
    print(f"advmatrix: warning: {_terminal_safe(text)}", file=sys.stderr)


def _run(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _dispatch(argv)
    except SystemExit as exc:  # argparse's own --help and usage errors
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code == 130:  # typer turns Ctrl-C into an exit of 130 before it reaches the handler below
            print("advmatrix: interrupted", file=sys.stderr)
        return code
    except AdvmatrixError as exc:
        _say(str(exc), argv)
        return exc.exit_code
    except KeyboardInterrupt:
        print("advmatrix: interrupted", file=sys.stderr)
        return 130
    except _Terminated:
        print("advmatrix: terminated", file=sys.stderr)
        return 143
    except BrokenPipeError:
        return 0  # output piped into head and closed early: not an error
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"advmatrix: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


def _say(message: str, argv: list[str]) -> None:
    """Print an error: each of its lines (a file with three problems has three) as an ``advmatrix:
    error:`` line. What came from the command line is shown escaped where it holds a line break or
    another character a terminal acts on, so a value cannot split a line or forge one; a library's
    pointer to its own docs ("(Background on this error at: ...)") is left out."""
    for line in _terminal_safe(_escaped(message, argv)).split("\n"):
        if line.strip() and not line.startswith("(Background on this error"):
            print(f"advmatrix: error: {line}", file=sys.stderr)


def _escaped(message: str, argv: list[str]) -> str:
    for value in sorted(_pieces(argv), key=len, reverse=True):
        message = message.replace(value, value.encode("unicode_escape").decode("ascii"))
    return message


def _pieces(argv: list[str]) -> set[str]:
    """The command-line values, and their parts around '=', '.' and ',', that hold a character that is not
    printed as itself: messages quote them whole or in part (``--param NAME.KEY=VALUE``)."""
    out: set[str] = set()
    for arg in argv:
        if arg.isprintable():
            continue
        todo = [arg]
        while todo:
            piece = todo.pop()
            if piece and not piece.isprintable() and piece not in out:
                out.add(piece)
                for sep in ("=", ".", ","):
                    todo.extend(piece.split(sep))
    return out


def _terminal_safe(text: str) -> str:
    """``text`` with every character a terminal would act on (escape sequences, NUL, a lone carriage
    return) written as its escape, line breaks between the message's lines kept: messages quote ids and
    values from the user's files, and a file must not recolour or rewrite the terminal."""
    return "\n".join("".join(c if c.isprintable() or c == "\t" else c.encode("unicode_escape").decode("ascii")
                              for c in line) for line in text.split("\n"))


def run() -> None:
    """The console script: run the command in ``sys.argv`` and exit with its code."""
    sys.exit(main())
