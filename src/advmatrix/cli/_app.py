"""The typer application: the root command and every command group (entry point: ``_main``)."""

from __future__ import annotations

import typer

from .. import __version__
from . import alerts as alerts_commands
from . import assess as assess_commands
from . import campaign as campaign_commands
from . import detect as detect_commands
from . import kb as kb_commands
from . import llm_app as llm_app_commands
from . import monitor as monitor_commands
from . import plugins as plugins_commands
from . import scan as scan_commands
from . import serve as serve_commands
from . import threatmodel as threatmodel_commands

app = typer.Typer(
    name="advmatrix",
    help="The Adversarial ML Threat Matrix (MITRE ATLAS), executable.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(kb_commands.app, name="kb")


# `scan` parses its own arguments (_main runs it without typer); here it is only listed, and
# its arguments handed over when the typer app is called directly.
@app.command("scan", help=scan_commands.SUMMARY + " See `advmatrix scan --help`.", add_help_option=False,
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def _scan(ctx: typer.Context) -> None:
    raise typer.Exit(scan_commands.run_scan(list(ctx.args)))


app.command("assess")(assess_commands.assess)
app.add_typer(assess_commands.runs_app, name="runs")
app.command("campaign")(campaign_commands.campaign)
app.command("procedures")(assess_commands.list_procedures)
app.command("plugins")(plugins_commands.list_plugins)
app.command("demo")(assess_commands.demo)
app.command("serve")(serve_commands.serve)
app.command("serve-llm-app")(llm_app_commands.serve_llm_app)
app.command("monitor")(monitor_commands.monitor)
app.command("detect")(detect_commands.detect)
app.add_typer(alerts_commands.app, name="alerts")
app.command("threatmodel")(threatmodel_commands.threatmodel)


def _version(value: bool) -> None:
    if value:
        print(f"advmatrix {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """advmatrix: knowledge base, emulation, detection and scanning keyed by ATLAS technique."""
