"""kernelhub answers the scenario as JupyterHub 6.1.1 does, from the same config file.

Both hubs start from tests/compat/jupyterhub_config.py (kernelhub through
`kernel import-config`) and go through tests/compat/scenario.py in lockstep.
Every difference in what a client sees (tests/compat/compare.py) must be a
documented deviation (docs/jupyterhub-differences.md) or a known bug below;
any other difference fails the test, and says what both hubs answered.
"""

from __future__ import annotations

from tests.compat.compare import Selector, deviations
from tests.compat.runner import run_scenario
from tests.compat.scenario import STEPS

#: Differences that are bugs, reported and not yet fixed: (``ACTOR METHOD PATH FIELD``
#: selector, the issue).
#: Remove an entry with its fix; the test then holds kernelhub to JupyterHub's answer.
KNOWN_BUGS: list[tuple[str, str]] = []

#: What `kernel import-config` may leave out of the scenario's config file.
UNTRANSLATED: list[str] = []


def known_bugs() -> list[Selector]:
    return [Selector.parse(text, f"KNOWN_BUGS: {issue}") for text, issue in KNOWN_BUGS]


def test_the_scenario_is_long_enough():
    assert len(STEPS) >= 60


def test_every_deviation_and_known_bug_has_selectors():
    entries = {selector.label for selector in deviations()}
    assert entries and all(label.startswith("D-") for label in entries)
    assert len(known_bugs()) == len(KNOWN_BUGS)


def test_import_config_translates_the_whole_config_file(hubs):
    _, _, skipped = hubs
    assert [line for line in skipped.splitlines() if line.strip()] == UNTRANSLATED


def test_kernelhub_answers_the_scenario_as_jupyterhub_does(hubs):
    reference, candidate, _ = hubs
    explained = deviations() + known_bugs()
    found, seconds, drivers = run_scenario(STEPS, reference, candidate)
    unexplained = [d for d in found if not any(s.explains(d) for s in explained)]
    print(f"{len(STEPS)} steps in {seconds:.0f} s; {len(found)} differences, "
          f"{len(found) - len(unexplained)} explained")
    for difference in found:
        labels = [s.label for s in explained if s.explains(difference)]
        print(f"  {difference}  [{', '.join(labels) or 'UNEXPLAINED'}]")
    for number in sorted({d.step for d in unexplained}):
        print(f"step {number}: {STEPS[number - 1]}")
        for driver in drivers:
            for answer in driver.transcript.get(number, []):
                print(f"  {driver.hub.name}: {answer}")
    assert not unexplained, "differences from JupyterHub 6.1.1 that no deviation or known " \
        "bug explains:\n" + "\n".join(map(str, unexplained))
