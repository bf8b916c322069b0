"""Print the project's dependencies from pyproject.toml, one per line (a pip requirements file).

``requirements.py``            every runtime dependency (no extras: no test tools in the image)
``requirements.py torch``      only torch and torchvision, with their pins

The image installs its dependencies in a layer of their own, before the source is copied, so a
source change does not reinstall them; reading them here keeps pyproject.toml their one home.
"""

import re
import sys
import tomllib
from pathlib import Path

TORCH = {"torch", "torchvision"}


def requirements(only_torch: bool = False) -> list[str]:
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    deps = project["dependencies"]
    if only_torch:
        deps = [d for d in deps if re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0].lower() in TORCH]
    return deps


if __name__ == "__main__":
    print("\n".join(requirements(only_torch=sys.argv[1:] == ["torch"])))
