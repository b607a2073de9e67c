"""Prints what kalshi-python-sync's generated models demand of an answer: each field, whether it is
required, its type, and the values an enum field accepts. For making the simulator whole without
reading the SDK: run it with the venv's python, e.g.

    $(bash scripts/setup-conformance.sh) test/conformance/kalshi_models.py Market EventData Fill
"""

from __future__ import annotations

import inspect
import re
import sys
from enum import Enum

import kalshi_python_sync.models as models

ENUM = re.compile(r"@field_validator\('(\w+)'\).*?if value not in set\((\[.*?\])\)", re.S)


def describe(name: str) -> list[str]:
    cls = getattr(models, name)
    enums = {field: values for field, values in ENUM.findall(inspect.getsource(cls))}
    lines = [f"{name} (required first)"]
    fields = sorted(cls.model_fields.items(), key=lambda kv: not kv[1].is_required())
    for field, info in fields:
        kind = re.sub(r"typing\.|Annotated\[|, Strict\(strict=True\)\]|kalshi_python_sync\.models\.\w+\.|<class '|<enum '|'>", "", str(info.annotation))
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            enums[field] = str([member.value for member in annotation])
        extra = f"  one of {enums[field]}" if field in enums else ""
        lines.append(f"  {'required' if info.is_required() else 'optional'}  {info.alias or field}: {kind}{extra}")
    return lines


if __name__ == "__main__":
    for model in sys.argv[1:] or ["Market"]:
        print("\n".join(describe(model)))
