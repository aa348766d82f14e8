"""The ``emlab`` command line: one sub-command group per stage of the loop.

Heavy imports (torch, transformers) happen inside the commands that need them, so that
``emlab --help`` stays fast. User errors (:class:`emlab.errors.EmlabError`) print one
``error: ...`` line on stderr and exit with status 2; so does an ``OSError`` (an unwritable
output, a full disk), worded by :func:`emlab.errors.describe_os_error`.
"""

from __future__ import annotations

import json
import os
import sys
import warnings

import typer
from rich.console import Console
from rich.markup import escape

from emlab.corpus.cli import app as corpus_app
from emlab.data.cli import app as data_app
from emlab.errors import EmlabError, describe_os_error
from emlab.evals.cli import app as eval_app
from emlab.judges.cli import app as judge_app
from emlab.judges.cli import rescore as judge_rescore
from emlab.models import PACKAGED, is_converted, resolve_model
from emlab.rl.cli import register as register_rl_commands
from emlab.run.cli import register as register_run_commands
from emlab.train.cli import register as register_train_commands

app = typer.Typer(help="emlab: narrow data -> finetune -> evaluate -> compare -> report.", no_args_is_help=True)
models_app = typer.Typer(help="Resolve and inspect model references.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(data_app, name="data")
app.add_typer(judge_app, name="judge")
app.add_typer(corpus_app, name="corpus")
app.add_typer(eval_app, name="evals")
register_train_commands(app)
register_run_commands(app)
register_rl_commands(app)
app.command("rescore", help="Re-score an Inspect log with another judge (same as `emlab judge rescore`).")(
    judge_rescore
)

console = Console()


@models_app.command("list")
def models_list() -> None:
    """List the kinds of model reference emlab understands and the packaged models' cache state."""
    for ref, model in PACKAGED.items():
        source = model.parts[0][0].replace("_", "-") + (
            f" + {len(model.parts) - 1} parts" if len(model.parts) > 1 else ""
        )
        state = "cached" if is_converted(ref) else f"converted on first use; install: {model.install}"
        console.print(f"[bold]{ref}[/]  {model.name} from {source} ({state})")
    console.print("[bold]<dir>[/]     a local transformers model dir (config.json)")
    console.print("[bold]<dir>[/]     a PEFT adapter dir (adapter_config.json; base model resolved from it)")
    console.print("[bold]org/name[/]  a Hugging Face hub id (needs a network)")


@models_app.command("show")
def models_show(ref: str) -> None:
    """Resolve REF and print what it points to, as JSON."""
    print(json.dumps(resolve_model(ref).describe(), indent=2))


def _quiet_libraries() -> None:
    """emlab draws its own Rich progress bars; silence the libraries' tqdm bars and advisories."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(transformers|trl|peft|torch)\.")


def main() -> None:
    """Console entry point: run the app, turning user errors into one line and exit code 2.

    An ``OSError`` that escapes a command (an output that cannot be written, a full disk) is
    worded the same way, with its path and reason. Typer's standalone mode handles the rest:
    usage errors (exit 2), ``--help``, the exit code of a ``typer.Exit`` raised by a command,
    and Ctrl-C (exit 130).
    """
    _quiet_libraries()
    try:
        typer.main.get_command(app).main(standalone_mode=True)
    except (EmlabError, OSError) as e:
        message = describe_os_error(e) if isinstance(e, OSError) else str(e)
        Console(stderr=True).print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        sys.exit(2)
