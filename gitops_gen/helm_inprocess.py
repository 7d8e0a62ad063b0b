"""`helm template` without a process, where its output is provably the binary's.

A `helm template` process costs ~35-40 ms, almost all of it start-up; Helm's Go SDK
called in-process through helm-python-sdk renders the same chart in ~2 ms. The binary
stays the reference: the SDK is used only for what it does the same way —

- charts that never mention `Capabilities` (the SDK cannot be told the Kubernetes
  version: it would render its own), in templates or value files (`tpl`), with no
  `crds/`, no subcharts (`charts/`, `dependencies:`), and only YAML, `.tpl` and NOTES.txt
  files under templates/;
- sources whose only options are the release name, namespace, value files and
  `--set`/`--set-string` parameters that hold no numbers (`--set` makes numbers int64
  where value files make them float64, and the JSON that crosses into the SDK cannot
  keep that apart) and no list indexes;
- a render that succeeds: any SDK error falls back to the binary, so a finding always
  carries the binary's message.

On top of that, `build.py` checks the first render of each chart in a run against the
binary's, object for object, and uses the SDK for that chart only if they are equal.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

# Helm's releaseutil.SplitManifests separator: a `---` line, and what whitespace follows.
_HELM_DOC_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")
_TEMPLATE_SUFFIXES = (".yaml", ".yml", ".tpl")
_NOT_IN_PROCESS = b"Capabilities"


@dataclass(frozen=True)
class SetParameter:
    """One `--set` (or `--set-string`, when `string`) of an Application's helm source."""

    name: str
    value: str
    string: bool


# (chart directory, release name, namespace, value files, parameters): one render
RenderRequest = tuple[Path, str, str, tuple[Path, ...], tuple[SetParameter, ...]]


class InProcessHelm:
    """Renders charts through helm-python-sdk; one instance per build run."""

    def __init__(self, sdk: ModuleType) -> None:
        self._sdk = sdk
        self.version = f"{sdk.helm_sdk_version()}/{sdk.helm_c_version()}"
        self._lock = threading.Lock()
        self._charts: dict[Path, Any] = {}  # chart dir -> loaded chart, or None: not here
        self._trusted: dict[Path, bool] = {}
        self._checking: dict[Path, threading.Lock] = {}
        self.used = 0  # renders whose output was taken (not replaced by the binary's)

    @classmethod
    def load(cls) -> InProcessHelm | None:
        """The SDK if it is installed and its library loads; None: use the binary."""
        try:
            import helm_python

            return cls(helm_python)
        except (ImportError, OSError, AttributeError):
            return None

    def render(self, chart_dir: Path, release: str, namespace: str,
               value_files: Sequence[Path], parameters: Sequence[SetParameter]) -> str | None:
        """What `helm template` prints for these inputs, or None where the binary must run."""
        chart = self._chart(chart_dir)
        if chart is None:
            return None
        sdk = self._sdk
        try:
            sdk.validate_release_name(release)
            values: dict[str, Any] = {}
            for path in value_files:
                text = path.read_bytes()
                if _NOT_IN_PROCESS in text:
                    return None
                values = merge_maps(values, sdk.values_from_yaml(text.decode("utf-8")))
            for parameter in parameters:
                parsed = self._parameter(parameter)
                if parsed is None:
                    return None
                values = merge_maps(values, parsed)
            rendered = chart.render(values, name=release, namespace=namespace)
        except (sdk.HelmError, OSError, UnicodeDecodeError, ValueError):
            return None
        return helm_template_stream(rendered)

    def checked(self, chart_dir: Path) -> threading.Lock:
        """Held while the first render of a chart is compared with the binary's."""
        with self._lock:
            return self._checking.setdefault(chart_dir, threading.Lock())

    def trusted(self, chart_dir: Path) -> bool | None:
        """Whether the chart's SDK render equalled the binary's; None: not compared yet."""
        return self._trusted.get(chart_dir)

    def record(self, chart_dir: Path, same: bool) -> None:
        self._trusted[chart_dir] = same

    def count_use(self) -> None:
        with self._lock:
            self.used += 1

    def _parameter(self, parameter: SetParameter) -> dict[str, Any] | None:
        if "[" in parameter.name:
            return None
        expression = f"{parameter.name}={parameter.value}"
        if parameter.string:
            parsed: dict[str, Any] = self._sdk.parse_set_string_values(expression)
            return parsed
        parsed = self._sdk.parse_set_string(expression)
        return None if any(_numbers(parsed)) else parsed

    def _chart(self, chart_dir: Path) -> Any:
        with self._lock:
            if chart_dir not in self._charts:
                self._charts[chart_dir] = self._load_chart(chart_dir)
            return self._charts[chart_dir]

    def _load_chart(self, chart_dir: Path) -> Any:
        if not _renders_the_same(chart_dir):
            return None
        try:
            return self._sdk.Chart.load(str(chart_dir))
        except self._sdk.HelmError:
            return None


def _renders_the_same(chart_dir: Path) -> bool:
    """The chart-side conditions of the module docstring."""
    if (chart_dir / "crds").exists() or (chart_dir / "charts").exists():
        return False
    if (chart_dir / "requirements.yaml").exists():
        return False
    try:
        if b"dependencies" in (chart_dir / "Chart.yaml").read_bytes():
            return False
        for path in chart_dir.rglob("*"):
            if path.is_symlink():
                return False
            if not path.is_file():
                continue
            if path.parent.name == "templates" and not (
                path.name.endswith(_TEMPLATE_SUFFIXES) or path.name == "NOTES.txt"
            ):
                return False
            if _NOT_IN_PROCESS in path.read_bytes():
                return False
    except OSError:
        return False
    return True


def helm_template_stream(rendered: dict[str, str]) -> str:
    """The SDK's {template: text} as `helm template` prints it: partials, NOTES.txt and
    empty documents dropped, each document under `---` and `# Source: <template>`."""
    out = []
    for path in sorted(rendered):
        base = path.rsplit("/", 1)[-1]
        if base.startswith("_") or path.endswith("NOTES.txt"):
            continue
        for doc in _HELM_DOC_SEPARATOR.split(rendered[path]):
            if doc.strip():
                out.append(f"---\n# Source: {path}\n{doc}\n")
    return "".join(out)


def merge_maps(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's `mergeMaps` (cli/values): maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            out[key] = merge_maps(current, value)
        else:
            out[key] = value
    return out


def _numbers(value: Any) -> Iterator[bool]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        yield True
