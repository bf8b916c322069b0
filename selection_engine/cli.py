"""``winnow key=value ...``: the engine from the command line, with the Lightly worker's arguments.

Exit codes: 0 success, 2 bad input (config, files, paths; one line on stderr), 1 internal error.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from collections.abc import Callable

from .config import LightlyConfig, WorkerConfig, resolve
from .errors import WinnowError

if typing.TYPE_CHECKING:
    from _typeshed import DataclassInstance

USAGE = """usage: winnow input_dir=PATH output_dir=PATH [shared_dir=PATH] [key=value ...]

Selects the images worth labeling from input_dir and writes a run directory under output_dir
(<output_dir>/<YYYY-MM-DD>/<HH:MM:SS>/). Every key below can be set as key=value; nested keys
use dots (stopping_condition.n_samples=100) and lightly.* keys set the embedding model.
Values: numbers (0.1, 50'000), true/false, lists ([128,128]), empty strings (scorer="").

       winnow evaluate input_dir=PATH output_dir=PATH [evaluation.key=value ...]   (winnow evaluate --help)

examples:
  winnow input_dir=images/ output_dir=runs/ method=coreset stopping_condition.n_samples=0.1
  winnow input_dir=images/ shared_dir=shared/ output_dir=runs/ embeddings=embeddings_al.csv \\
         method=coral active_learning_score_column_name=al_score stopping_condition.n_samples=10
"""

LOCATIONS_HELP = [
    ("input_dir", "", "the datasource root: a folder of images (sub-folders allowed)"),
    ("shared_dir", "", "where relative embeddings, relevant_filenames_file, selection_config and datapools resolve"),
    ("output_dir", "", "where run directories are created"),
    ("selection_config", "", "a selection config: a JSON file (relative to shared_dir) or inline JSON"),
    ("token", "", "accepted for compatibility with Lightly commands; never stored or printed"),
]


def _defaults(obj: DataclassInstance, prefix: str = "") -> list[tuple[str, object]]:
    rows: list[tuple[str, object]] = []
    hints = typing.get_type_hints(type(obj))
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        if dataclasses.is_dataclass(hints[field.name]):
            rows.extend(_defaults(value, f"{prefix}{field.name}."))
        else:
            rows.append((f"{prefix}{field.name}", value))
    return rows


def _format_value(value: object) -> str:
    if isinstance(value, list):
        return "[" + ",".join(map(str, value)) + "]"
    if isinstance(value, str):
        return '""' if value == "" else value
    return str(value)


def help_text() -> str:
    lines = [USAGE, "locations:"]
    lines += [f"  {key:<44} {doc}" for key, _, doc in LOCATIONS_HELP]
    lines.append("\nworker config (key=default):")
    lines += [f"  {key}={_format_value(value)}" for key, value in _defaults(WorkerConfig())]
    lines.append("\nlightly config (key=default):")
    lines += [f"  lightly.{key}={_format_value(value)}" for key, value in _defaults(LightlyConfig())]
    return "\n".join(lines)


EVALUATE_USAGE = """usage: winnow evaluate input_dir=PATH output_dir=PATH [shared_dir=PATH] [key=value ...]

Simulates labeling on your own labeled images: a random initial set, then rounds in which each
method picks more samples to label, a logistic regression trained on the embeddings after each
round, test accuracy over several seeds, and every method's paired difference against random
labeling. Writes accuracy.png, methods.csv, accuracy.csv and evaluation.json into a run
directory under output_dir and recommends a method and embeddings.

Labels come from evaluation.labels (a CSV of filenames,labels), the labels column of
embeddings=FILE, or each image's folder (cats/001.jpg is a cat). The run's keys (embeddings,
checkpoint, lightly.*, seed, normalize_embeddings) say how the images are embedded.

examples:
  winnow evaluate input_dir=images/ output_dir=evaluations/
  winnow evaluate input_dir=images/ shared_dir=shared/ output_dir=evaluations/ \\
         evaluation.embeddings=[random,runs/trained/checkpoints/last.ckpt,my_embeddings.csv] \\
         evaluation.initial=10 evaluation.per_round=10 evaluation.rounds=6
"""


def evaluate_help_text() -> str:
    from .evaluation.command import EvaluationConfig

    lines = [EVALUATE_USAGE, "evaluation keys (key=default):"]
    lines += [f"  evaluation.{key}={_format_value(value)}" for key, value in _defaults(EvaluationConfig())]
    return "\n".join(lines)


def evaluate_main(args: list[str]) -> int:
    if any(a in ("-h", "--help", "help") for a in args):
        print(evaluate_help_text())
        return 0
    from .evaluation.command import evaluate, parse_arguments
    from .progress import Reporter

    def work() -> None:
        config, evaluation = parse_arguments(args)
        evaluate(config, evaluation, Reporter())

    return _exit_code("winnow evaluate", work)


def _exit_code(program: str, work: Callable[[], object]) -> int:
    """Run ``work()``: 0 when it succeeds, 2 with one line on stderr for bad input, 130 on Ctrl-C."""
    try:
        work()
    except WinnowError as exc:
        print(f"{program}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "evaluate":
        return evaluate_main(args[1:])
    if not args or any(a in ("-h", "--help", "help") for a in args):
        print(help_text())
        return 0 if args else 2
    from . import pipeline  # torch is imported only when a run actually starts

    return _exit_code("winnow", lambda: pipeline.run(resolve(overrides=args)))


if __name__ == "__main__":
    sys.exit(main())
