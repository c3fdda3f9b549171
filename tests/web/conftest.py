from __future__ import annotations

import shutil

import pytest

from advmatrix.kb import atlas_yaml

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'

EVIL_ATLAS = f"""\
id: ATLAS
name: Evil
version: 9.9.9
matrices:
- id: ATLAS
  name: ATLAS Matrix
  tactics:
  - id: AML.TA0001
    name: 'Staging {XSS}'
    description: 'Tactic {XSS}'
  techniques:
  - id: AML.T0043
    name: 'Craft {XSS}'
    description: 'Technique {XSS}'
    tactics: [AML.TA0001]
  - id: AML.T0043.000
    name: 'Sub {XSS}'
    description: 'Sub {XSS}'
    subtechnique-of: AML.T0043
  mitigations: []
case-studies:
- id: AML.CS0000
  name: 'Study {XSS}'
  summary: 'Summary {XSS}'
  incident-date: 2020-01-01
  incident-date-granularity: YEAR
  procedure:
  - tactic: AML.TA0001
    technique: AML.T0043
    description: 'Step {XSS}'
  target: 'target {XSS}'
  actor: 'actor {XSS}'
  case-study-type: exercise
  references:
  - title: 'ref {XSS}'
    url: 'javascript:window.__xss=3'
"""


@pytest.fixture(scope="session")
def evil_matrix():
    return atlas_yaml.loads(EVIL_ATLAS, "evil.yaml")


@pytest.fixture(scope="package")
def browser():
    """Debian's Chromium driven by Playwright; never a downloaded browser. Stopped when the web tests
    end: Playwright's sync API keeps an event loop running in this thread while it lives, and
    asyncio.run in a later test (the gateway's sinks) refuses to start beside it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()
