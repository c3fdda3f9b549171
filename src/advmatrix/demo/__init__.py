"""The demo: a digits CNN served over KServe v2 on loopback, assessed black-box and white-box."""

from ._run import DemoResult, run_demo, try_commands
from ._victim import DigitsCNN, load_or_train_victim, train_like_victim

__all__ = ["DemoResult", "DigitsCNN", "load_or_train_victim", "run_demo", "train_like_victim", "try_commands"]
