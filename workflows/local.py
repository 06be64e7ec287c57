"""Run a rendered WorkflowTemplate's DAG on this machine, as Argo would, to catch wiring mistakes: the
``html-classification`` pipeline by default, or another (``release``).

It reads the manifests in a folder, resolves each task's ``templateRef``, substitutes Argo's parameters
(``{{inputs.parameters.x}}``, ``{{workflow.parameters.x}}``, ``{{tasks.T.outputs.parameters.y}}``,
``{{workflow.name}}``, ``{{workflow.status}}``), evaluates ``when``, runs each container's command and
arguments as a subprocess in dependency order, and reads output parameters from their ``valueFrom.path``.
Container paths of output parameters are mapped into a scratch folder per task, and the templates'
``s3://<bucket>`` store onto the ``--store`` given. Anything it cannot resolve is an error, never skipped.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import yaml

EXPRESSION = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
COMPARISON = re.compile(r"^'([^']*)'\s*(==|!=)\s*'([^']*)'$")


class WiringError(RuntimeError):
    """The rendered manifests do not fit together."""


def load(folder: Path) -> dict[tuple[str, str], dict]:
    manifests = {}
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                manifests[(doc["kind"], doc["metadata"]["name"])] = doc
    return manifests


def substitute(text: str, scope: dict[str, str], where: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        if name not in scope:
            raise WiringError(
                f"{where}: '{{{{{name}}}}}' does not resolve (known here: {', '.join(sorted(scope))})"
            )
        return scope[name]

    return EXPRESSION.sub(value, text)


def evaluate_when(expression: str, where: str) -> bool:
    """The ``when`` forms the pipeline uses: quoted comparisons joined by && (and ||)."""
    result_any = False
    for alternative in expression.split("||"):
        result_all = True
        for clause in alternative.split("&&"):
            match = COMPARISON.match(clause.strip())
            if not match:
                raise WiringError(f"{where}: cannot evaluate when-clause {clause.strip()!r}")
            left, op, right = match.groups()
            result_all &= (left == right) if op == "==" else (left != right)
        result_any |= result_all
    return result_any


def dependencies(task: dict) -> list[str]:
    if "dependencies" in task:
        return list(task["dependencies"])
    depends = task.get("depends", "")
    return sorted({token.split(".")[0] for token in re.findall(r"[A-Za-z0-9][\w.-]*", depends)})


class LocalRun:
    def __init__(
        self, folder: Path, store: str, params: dict[str, str], workflow: str = "html-classification"
    ):
        self.manifests = load(folder)
        key = ("WorkflowTemplate", workflow)
        if key not in self.manifests:
            raise WiringError(f"no WorkflowTemplate {workflow!r} in {folder}")
        self.workflow = self.manifests[key]
        self.store = store
        spec = self.workflow["spec"]
        declared = {p["name"]: p.get("value", "") for p in spec.get("arguments", {}).get("parameters", [])}
        unknown = sorted(set(params) - set(declared))
        if unknown:
            raise WiringError(
                f"unknown workflow parameter(s) {unknown}; the template declares {sorted(declared)}"
            )
        self.params = {**declared, **params}
        self.name = f"{workflow}-local-{uuid.uuid4().hex[:5]}"
        self.scope = {f"workflow.parameters.{k}": v for k, v in self.params.items()}
        self.scope["workflow.name"] = self.name
        self.phases: dict[str, str] = {}
        self.log: list[str] = []

    def template(self, owner: dict, ref: dict | None, name: str | None, where: str) -> dict:
        if ref is not None:
            key = ("WorkflowTemplate", ref["name"])
            if key not in self.manifests:
                raise WiringError(
                    f"{where}: templateRef names WorkflowTemplate {ref['name']!r}, which is not rendered"
                )
            owner, name = self.manifests[key], ref["template"]
        for template in owner["spec"]["templates"]:
            if template["name"] == name:
                return template
        raise WiringError(f"{where}: no template {name!r} in {owner['metadata']['name']}")

    def run(self) -> int:
        spec = self.workflow["spec"]
        entry = self.template(self.workflow, None, spec["entrypoint"], "entrypoint")
        status = "Succeeded"
        failures = []
        try:
            self.run_dag(entry)
        except TaskFailed as exc:
            status = "Failed"
            failures.append({"displayName": exc.task, "message": str(exc), "phase": "Failed"})
        if spec.get("onExit"):
            self.scope["workflow.status"] = status
            self.scope["workflow.failures"] = json.dumps(failures) if failures else "null"
            exit_template = self.template(self.workflow, None, spec["onExit"], "onExit")
            self.run_container("exit-handler", exit_template, {})
        print(f"[run-local] {self.name}: {status}", flush=True)
        return 0 if status == "Succeeded" else 1

    def run_dag(self, template: dict) -> None:
        tasks = {task["name"]: task for task in template["dag"]["tasks"]}
        for name, task in tasks.items():  # checked before anything runs
            for dep in dependencies(task):
                if dep not in tasks:
                    raise WiringError(f"task {name!r} depends on unknown task {dep!r}")
        done: list[str] = []
        pending = list(tasks)
        while pending:
            ready = [name for name in pending if all(dep in done for dep in dependencies(tasks[name]))]
            if not ready:
                raise WiringError(f"tasks {pending} wait on each other or on tasks that do not exist")
            for name in ready:
                self.run_task(tasks[name])
                done.append(name)
                pending.remove(name)

    def run_task(self, task: dict) -> None:
        name = task["name"]
        where = f"task {name}"
        if "when" in task and not evaluate_when(substitute(task["when"], self.scope, where), where):
            self.phases[name] = "Skipped"
            print(f"[run-local] {name}: skipped (when)", flush=True)
            return
        template = self.template(self.workflow, task.get("templateRef"), task.get("template"), where)
        items = self.items(task, where)
        for item in items:
            scope = {**self.scope, "item": item} if item is not None else self.scope
            arguments = {
                p["name"]: substitute(str(p.get("value", "")), scope, where)
                for p in task.get("arguments", {}).get("parameters", [])
            }
            declared = {p["name"] for p in template.get("inputs", {}).get("parameters", [])}
            extra = sorted(set(arguments) - declared)
            if extra:
                raise WiringError(
                    f"{where}: passes {extra}, which template {template['name']!r} does not take"
                )
            label = name if item is None else f"{name}({item})"
            outputs = self.run_container(label, template, arguments)
            if item is None:  # a fanned-out task's outputs are not addressable one by one
                for key, value in outputs.items():
                    self.scope[f"tasks.{name}.outputs.parameters.{key}"] = value
        self.phases[name] = "Succeeded"

    def items(self, task: dict, where: str) -> list[str | None]:
        """The items a task fans out over (withSequence or withParam), or [None] for a single run."""
        if "withSequence" in task:
            count = substitute(str(task["withSequence"].get("count", "0")), self.scope, where)
            if not count.isdigit() or int(count) < 1:
                raise WiringError(f"{where}: withSequence count {count!r} is not a positive whole number")
            return [str(i) for i in range(int(count))]
        if "withParam" in task:
            values = json.loads(substitute(task["withParam"], self.scope, where))
            return [v if isinstance(v, str) else json.dumps(v) for v in values]
        return [None]

    def run_container(self, name: str, template: dict, arguments: dict[str, str]) -> dict[str, str]:
        where = f"task {name}"
        scope = dict(self.scope)
        for param in template.get("inputs", {}).get("parameters", []):
            if param["name"] in arguments:
                scope[f"inputs.parameters.{param['name']}"] = arguments[param["name"]]
            elif "value" in param:
                scope[f"inputs.parameters.{param['name']}"] = substitute(
                    str(param["value"]), self.scope, where
                )
            else:
                raise WiringError(f"{where}: input parameter {param['name']!r} has no value and no default")
        container = template["container"]
        with tempfile.TemporaryDirectory(prefix=f"run-local-{name}-") as scratch:
            outputs = template.get("outputs", {}).get("parameters", [])
            roots = {
                os.path.dirname(p["valueFrom"]["path"]) for p in outputs if "path" in p.get("valueFrom", {})
            }

            def local(text: str) -> str:
                text = substitute(text, scope, where)
                for root in roots:
                    if text == root or text.startswith(root + "/"):
                        return scratch + text
                bucket_store = f"s3://{scope.get('workflow.parameters.bucket', '')}"
                if text.startswith(bucket_store) and self.store != bucket_store:
                    return self.store + text[len(bucket_store) :]
                return text

            command = [local(part) for part in container.get("command", [])]
            args = [local(part) for part in container.get("args", [])]
            if command[:1] == ["python"]:
                command[0] = sys.executable
            env = dict(os.environ)
            for item in container.get("env", []):
                if "value" in item:  # Secret and ConfigMap references come from this environment
                    env[item["name"]] = local(str(item["value"]))
            print(
                f"[run-local] {name}: {' '.join(command[2:] if command[1:2] == ['-m'] else command)}",
                flush=True,
            )
            code = subprocess.call([*command, *args], env=env)
            if code != 0:
                raise TaskFailed(name, f"{name} exited with {code}")
            values = {}
            for param in outputs:
                path = Path(scratch + param["valueFrom"]["path"])
                if not path.is_file():
                    raise WiringError(
                        f"{where}: output parameter {param['name']!r} was not written to {param['valueFrom']['path']}"
                    )
                values[param["name"]] = path.read_text()
            return values


class TaskFailed(RuntimeError):
    def __init__(self, task: str, message: str):
        super().__init__(message)
        self.task = task
