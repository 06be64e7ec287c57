"""The pipeline table is the one list of stage parameters: the step, `medallion run` and the rendered Argo
templates all take each one from it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from medallion.cli import build_parser
from medallion.core import pipeline
from medallion.runtime.args import step_parser

REPO = Path(__file__).resolve().parent.parent
PARAMS = [(stage, param) for stage in pipeline.STAGES for param in stage.params]


def option_of(parser, option: str):
    return next((a for a in parser._actions if option in a.option_strings), None)


@pytest.mark.parametrize("stage,param", PARAMS, ids=[f"{s.name}:{p.name}" for s, p in PARAMS])
def test_every_stage_param_is_taken_by_the_step_the_run_and_argo(stage, param):
    step = option_of(step_parser(stage), param.option)
    assert step is not None, f"python -m {stage.module} lacks {param.option}"
    assert step.default == (param.default or "") and tuple(step.choices or ()) == param.enum

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    taken = option_of(run, f"--{param.name}")
    assert taken is not None, f"medallion run lacks --{param.name}"
    assert taken.default == (param.default or "") and tuple(taken.choices or ()) == param.enum

    template = yaml.safe_load(
        (REPO / "workflows/rendered/workflowtemplate-html-classification.yaml").read_text()
    )
    names = {p["name"] for p in template["spec"]["arguments"]["parameters"]}
    assert param.name in names, f"the html-classification template lacks {param.name}"
    own = yaml.safe_load((REPO / f"workflows/rendered/workflowtemplate-{stage.workflow}.yaml").read_text())
    assert param.name in declared(own), f"workflowtemplate-{stage.workflow} lacks {param.name}"


def declared(node) -> set[str]:
    """Every parameter name a manifest declares (workflow arguments, template inputs)."""
    if isinstance(node, list):
        return set().union(*(declared(item) for item in node)) if node else set()
    if not isinstance(node, dict):
        return set()
    found = {p["name"] for p in node.get("parameters", []) if isinstance(p, dict) and "name" in p}
    return found.union(*(declared(value) for value in node.values()))


def test_run_passes_each_param_to_its_stage(tmp_path):
    """stage_argv hands every parameter's value to its stage, in the stage's own option."""
    from medallion.cli.run import stage_argv

    run = build_parser().parse_args(
        ["run", "--date", "2026-11-23", "--mode", "relabel", "--dedup", "canonical-url"]
    )
    for stage, param in PARAMS:
        argv = stage_argv(stage, run)
        value = getattr(run, param.name.replace("-", "_"))
        if value:
            assert argv[argv.index(param.option) + 1] == value
