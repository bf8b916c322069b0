"""Print the project's dependencies from pyproject.toml, one per line (a pip requirements file).

``requirements.py``                        every runtime dependency (no test tools in the image)
``requirements.py torch``                  only torch and torchvision, with their pins
``requirements.py --extras distributed``   the runtime dependencies and those of the named extras
                                           (comma-separated; the image's EXTRAS build argument)

The image installs its dependencies in a layer of their own, before the source is copied, so a
source change does not reinstall them; reading them here keeps pyproject.toml their one home.
"""

import re
import sys
import tomllib
from pathlib import Path

TORCH = {"torch", "torchvision"}


def requirements(only_torch: bool = False, extras: tuple[str, ...] = ()) -> list[str]:
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"])
    if only_torch:
        return [d for d in deps if re.split(r"[\s\[<>=!~;]", d, maxsplit=1)[0].lower() in TORCH]
    optional = project["optional-dependencies"]
    for extra in extras:
        if extra not in optional:
            raise SystemExit(f"unknown extra {extra!r}; pyproject.toml has: {', '.join(optional)}")
        deps += optional[extra]
    return deps


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments == ["torch"]:
        print("\n".join(requirements(only_torch=True)))
    elif arguments[:1] == ["--extras"]:
        names = tuple(name.strip() for name in " ".join(arguments[1:]).split(",") if name.strip())
        print("\n".join(requirements(extras=names)))
    else:
        print("\n".join(requirements()))
