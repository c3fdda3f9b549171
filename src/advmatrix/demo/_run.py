"""Serve the victim over HTTP behind the monitoring gateway, assess it as a black box through
the gateway (what works, and what the gateway notices) and as a white box, write the reports."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from ..emulate import Dataset, GatewayAdmin, assess
from ..serving import ServedModel, llm_app_description, make_app, make_llm_app, running_server
from ..store import RunStore
from ..targets import TargetInfo, TorchTarget
from ._victim import load_or_train_victim, train_like_victim

BLACK_BOX = {"discovery": {}, "square": {"n_samples": 20, "max_iter": 200},
             "hopskipjump": {"n_samples": 5, "max_iter": 10, "max_eval": 200, "init_eval": 20},
             "extraction": {"checkpoints": [50, 200, 400]}, "membership": {"n_samples": 200},
             "inversion": {"steps": 30}}
# against the local LLM application; every obfuscation on the injection probe shows the uplift
LLM = {"direct-injection": {}, "obfuscated-injection": {}, "indirect-injection": {}, "prompt-extraction": {},
       "data-leakage": {}, "rendering-exfiltration": {}, "tool-abuse": {}, "jailbreak": {}, "rag-poisoning": {},
       "cs-conversation-exfiltration": {}, "cs-tool-exfiltration": {}}
WHITE_BOX = {"fgsm": {"n_samples": 200}, "pgd": {"n_samples": 200}, "membership": {"n_samples": 200},
             "inversion": {"steps": 60}, "backdoor": {"poison_fraction": 0.05}}


@dataclass
class DemoResult:
    out_dir: str
    test_accuracy: float
    cached_model: bool
    server_url: str
    gateway_url: str = ""
    gateway_db: str = ""
    admin_token: str = ""
    runs: dict[str, str] = field(default_factory=dict)
    reports: dict[str, dict[str, str]] = field(default_factory=dict)
    findings: dict[str, list] = field(default_factory=dict)
    # black-box procedures: (procedure, detected, first detector(s), queries until the first alert)
    detection: list = field(default_factory=list)


def run_demo(out_dir: str | Path = "demo-out", *, budget: int = 20000,
             on_progress: Callable[[str], None] | None = None,
             keep_serving: Callable[[DemoResult], None] | None = None) -> DemoResult:
    """Serve the victim behind the gateway, assess it black-box through the gateway and white-box,
    store both runs and write their reports under ``out_dir``. With ``keep_serving``, the model
    server and the gateway stay up once everything is done while it is called with the result
    (its URLs filled in; :func:`try_commands` says what to run against them) and are stopped
    when it returns."""
    say = on_progress or (lambda msg: None)
    out = Path(out_dir)
    made = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    done: list[DemoResult] = []
    try:
        return _demo(out, budget, say, keep_serving, done)
    except BaseException:
        # interrupted or failed part-way: a directory this run made holds half a demo, which a reader would
        # take for its results (one that was there before keeps what it had, and what this run added)
        if made and not done:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _demo(out: Path, budget: int, say: Callable[[str], None],
          keep_serving: Callable[[DemoResult], None] | None, done: list[DemoResult]) -> DemoResult:
    say("training the victim CNN on digits (cached after the first run)")
    victim = load_or_train_victim()
    import torch

    def predict(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(victim.module(torch.from_numpy(batch.astype(np.float32))), 1).numpy()

    x, y, tr, te = victim.x, victim.y, victim.train_idx, victim.test_idx
    # The red team's view: test digits as seeds, the rest of the test split as its own
    # unlabelled pool, and, for membership, known training digits against unseen ones.
    data = Dataset(x=x[te[:300]], y=y[te[:300]], x_pool=x[te[300:]], x_members=x[tr], y_members=y[tr],
                   x_nonmembers=x[te], y_nonmembers=y[te], train=train_like_victim)
    store = RunStore(out / "advmatrix.db")
    classes = tuple(str(i) for i in range(10))
    app = make_app({"digits": ServedModel(predict, (1, 8, 8), classes, modality="image")})
    result = DemoResult(str(out), victim.test_accuracy, victim.cached, "")
    with contextlib.ExitStack() as serving:
        url = serving.enter_context(running_server(app))
        result.server_url = url
        say(f"serving the victim with the KServe v2 protocol at {url}/v2/models/digits")
        gateway = create_demo_gateway(url, out, x[tr])
        serving.callback(gateway.state.gateway.close)
        gw_url = serving.enter_context(running_server(gateway))
        result.gateway_url, result.gateway_db = gw_url, gateway.state.gateway.config.db
        result.admin_token = gateway.state.gateway.config.admin_token
        say(f"monitoring gateway at {gw_url} with detectors "
            f"{', '.join(d.name for d in gateway.state.gateway.detectors)}")
        black = assess(f"kserve+{gw_url}/digits", procedures=BLACK_BOX, data=data, budget=budget,
                       gateway=GatewayAdmin(gw_url, result.admin_token), store=store, out_dir=out / "black-box",
                       label="demo: black-box over HTTP, through the gateway",
                       on_progress=lambda n, f: say(f"black-box: {n}" + (f" -> {f.status}" if f else "")))
        if keep_serving is None:  # stop them now: the stages below need neither
            serving.close()
        _rest_of_demo(result, black, victim, data, store, out, budget, say)
        done.append(result)  # complete: Ctrl-C while it keeps serving is how it ends, not a failure
        if keep_serving is not None:
            keep_serving(result)
    return result


def _rest_of_demo(result: DemoResult, black, victim, data: Dataset, store: RunStore, out: Path, budget: int,
                  say: Callable[[str], None]) -> None:
    """The white-box run and the LLM application runs, after the black-box one."""
    classes = tuple(str(i) for i in range(10))
    white_target = TorchTarget(victim.module, TargetInfo("digits-cnn (local)", (1, 8, 8), classes, output="logits",
                                                         modality="image"))
    white = assess(white_target, procedures=WHITE_BOX, data=data, budget=budget, store=store,
                   out_dir=out / "white-box", label="demo: white-box",
                   on_progress=lambda n, f: say(f"white-box: {n}" + (f" -> {f.status}" if f else "")))
    for name, run in (("black-box", black), ("white-box", white)):
        result.runs[name] = run.assessment.id
        result.reports[name] = run.reports
        result.findings[name] = [(f.procedure, f.status, f.success_rate, f.queries) for f in run.assessment.findings]
    result.detection = [(c.procedure, c.detected, c.detectors, c.queries_to_detection)
                        for c in black.assessment.coverage or ()]
    for profile in ("naive", "hardened"):
        name = f"llm-{profile}"
        with running_server(make_llm_app(profile)) as url:
            say(f"LLM application ({profile}) at {url}/v1: {', '.join(LLM)}")
            # grey-box: the owner shares the system prompt, so its extraction is judged against it
            prompt = httpx.get(url + "/admin/info", timeout=10).json()["system_prompt"]
            llm_gateway = create_demo_gateway(url, out / name, None, system_prompt=prompt, chat=True)
            try:
                with running_server(llm_gateway) as gw_url:
                    say(f"monitoring gateway for the LLM application at {gw_url}")
                    run = assess(llm_app_description(gw_url, system_prompt=prompt), procedures=LLM, store=store,
                                 gateway=GatewayAdmin(gw_url, llm_gateway.state.gateway.config.admin_token),
                                 out_dir=out / name, label=f"demo: local LLM application, {profile}, through the "
                                 "gateway", on_progress=lambda n, f, p=profile: say(
                                     f"llm {p}: {n}" + (f" -> {f.status}" if f else "")))
            finally:
                llm_gateway.state.gateway.close()
        result.detection += [(c.procedure, c.detected, c.detectors, c.queries_to_detection)
                             for c in run.assessment.coverage or () if profile == "naive"]
        result.runs[name] = run.assessment.id
        result.reports[name] = run.reports
        result.findings[name] = [(f.procedure, f.status, f.success_rate, f.queries) for f in run.assessment.findings]


def try_commands(result: DemoResult) -> list[tuple[str, str]]:
    """What to run against the demo's model server and gateway while they are up: (what it
    does, the shell command)."""
    db = Path(result.out_dir) / "advmatrix.db"
    body = '{"inputs": [{"name": "input-0", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": [' + \
        ", ".join(["0.5"] * 64) + ']}]}'
    return [
        ("the model server's metadata", f"curl -s {result.server_url}/v2/models/digits"),
        ("one prediction through the gateway (as client demo-user)",
         f"curl -s -H 'x-api-key: demo-user' -H 'content-type: application/json' "
         f"-d '{body}' {result.gateway_url}/v2/models/digits/infer"),
        ("the gateway's alerts so far", f"curl -s -H 'authorization: Bearer {result.admin_token}' "
                                        f"{result.gateway_url}/_advmatrix/alerts"),
        ("assess through the gateway and measure what it notices",
         f"ADVMATRIX_TOKEN={result.admin_token} advmatrix assess kserve+{result.gateway_url}/digits "
         f"--procedures square,extraction --gateway-admin {result.gateway_url} --db {db} --out {result.out_dir}/again"),
        ("the gateway's alerts from the command line", f"advmatrix alerts list --db {result.gateway_db}"),
        ("the matrix with every run and the gateway's alerts",
         f"advmatrix serve --db {db} --gateway-db {result.gateway_db}"),
    ]


def create_demo_gateway(upstream: str, out: Path, train_inputs: np.ndarray | None, *, system_prompt: str = "",
                        chat: bool = False):
    """The gateway with every detector on (of the classifier's kind, or with ``chat`` of the LLM
    application's), given the victim's training inputs as the reference sample and as the
    membership list, or the application's system prompt. Every response is `alert`: the demo
    measures what the attacks achieve and what is noticed; a gateway that throttled them would
    hide the former."""
    import secrets

    from ..detect import detectors
    from ..gateway import GatewayConfig, create_gateway

    out.mkdir(parents=True, exist_ok=True)
    names = [n for n, cls in detectors().items() if (cls.modality == "chat") == chat or (chat and cls.counts_chat)]
    context: dict = {"system_prompt": system_prompt} if system_prompt else {}
    if train_inputs is not None:
        reference = out / "reference-inputs.npy"
        np.save(reference, train_inputs)
        context |= {"reference": str(reference), "members": str(reference)}
    params = {name: {"backend": "ngrams"} if name == "prompt-similarity" else {} for name in names}
    cfg = GatewayConfig(upstream=upstream, db=str(out / "gateway.db"), admin_token=secrets.token_urlsafe(16),
                        context=context, detectors=params, responses={name: {"action": "alert"} for name in names})
    return create_gateway(cfg)
