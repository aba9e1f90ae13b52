"""Option decorators shared by the subcommands, so every tool spells them the same way."""

import math

import click

from dltool.errors import InputError

from dltool.core.names import BOX_FORMATS
from dltool.io.streams import INPUT_FORMATS


class _Finite:
    """Refuse NaN and infinities: click's float types (FloatRange too) accept them, and a NaN passes
    every range check because it compares false with everything."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


class FiniteFloat(_Finite, click.types.FloatParamType):
    """A finite float; help shows FLOAT, as for type=float."""


class FiniteRange(_Finite, click.FloatRange):
    """click.FloatRange that also refuses NaN and infinities."""


#: The type of a float option that must be a finite number (no range).
FINITE = FiniteFloat()

#: The type of every --seed: numpy's SeedSequence takes any whole number >= 0, and only those.
SEED = click.IntRange(min=0)


def max_memory_option(f):
    return click.option(
        "--max-memory", type=click.FloatRange(min=0, min_open=True), default=None, metavar="GB",
        help="Refuse a run estimated to need more memory than this many GiB.  "
             "[default: half the physical memory]")(f)


def output_format_option(choices=("auto", "table", "csv", "tsv", "json", "jsonl"), machine="CSV"):
    return click.option(
        "--format", "output_format", type=click.Choice(choices), default="auto", show_default=True,
        help=f"Output format. auto: a table when stdout is a terminal, else {machine}.")


def _remember_quiet(ctx, param, value):
    # The entry wrapper's note handler reads it: library notes obey -q like the command's own.
    settings = ctx.find_root().obj
    if value and hasattr(settings, "quiet"):
        settings.quiet = True
    return value


def quiet_option(f):
    return click.option("-q", "--quiet", is_flag=True, callback=_remember_quiet,
                        help="No notes or warnings on stderr.")(f)


def box_format_option(f):
    return click.option(
        "--box-format", type=click.Choice(list(BOX_FORMATS)), default="xyxy", show_default=True,
        help="Coordinate columns: xyxy = x1,y1,x2,y2 corners; xywh = x,y,w,h top-left and size; "
             "cxcywh = cx,cy,w,h centre and size. COCO JSON is always xywh.")(f)


def input_format_option(f):
    return click.option(
        "--input-format", type=click.Choice(INPUT_FORMATS), default="auto", show_default=True,
        help="Input format; auto: from the extension, or sniffed from the content for '-'.")(f)


def parse_sizes(text: str, option: str = "--layers", example: str = "4,5,3,1") -> list:
    """Layer sizes from "N0,N1,...": at least two positive whole numbers."""
    try:
        sizes = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise InputError(f"{option} must be at least two positive whole numbers like {example}, got {text!r}")
    return sizes
