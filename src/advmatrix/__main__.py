from .cli._app import run

run()
