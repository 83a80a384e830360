"""``prmkit data``: list the dataset formats, validate files, convert between formats."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from prmkit.cli.options import new_app, report_errors
from prmkit.data.formats import FORMATS, LoadOptions, collect
from prmkit.data.validate import validate_report
from prmkit.errors import DataError
from prmkit.locks import refuse_same_file
from prmkit.progress import counted


def _option_help(name: str) -> str:
    return {f.name: f.metadata["help"] for f in dataclasses.fields(LoadOptions)}[name]


KindOpt = Annotated[
    str | None, typer.Option("--kind", help=_option_help("kind") + " (problem, solution, labels, labeled)")
]


@report_errors
def formats() -> None:
    """List the dataset formats: name, read/write, offline splits, description."""
    for name in FORMATS.names():
        fmt = FORMATS.get(name)
        mode = "read/write" if fmt.writable else "read"
        splits = ",".join(fmt.splits) or "-"
        typer.echo(f"{name:14} {mode:10} {splits:40} {fmt.description}")


@report_errors
def validate(
    file: Annotated[Path, typer.Argument(help="file to check")],
    kind: KindOpt = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format", help="check FILE as this dataset format instead (see `prmkit data formats`)"
        ),
    ] = None,
) -> None:
    """Check every record of FILE; print one line per error, then a summary. Exit 1 if any is bad."""
    report = validate_report(file, kind=kind, format=format, progress=lambda rows: counted(rows, f"checking {file}"))
    if not report.records:
        raise DataError("no records: the file is empty or holds only blank lines", path=file)
    for error in report.errors:
        typer.echo(str(error))
    typer.echo(f"{report.records} records, {report.bad} bad")
    if report.bad:
        raise typer.Exit(1)


@report_errors
def convert(
    input: Annotated[
        str,
        typer.Argument(help="file to read, or a split name of the --from format's offline copy (e.g. test)"),
    ],
    output: Annotated[Path, typer.Argument(help="file (or folder, for --to hf) to write")],
    source: Annotated[str, typer.Option("--from", help="format of INPUT (see `prmkit data formats`)")],
    target: Annotated[
        str, typer.Option("--to", help="format to write: jsonl, math-shepherd, trl-stepwise or hf")
    ] = "jsonl",
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="write at most this many records")
    ] = None,
    reference: Annotated[bool, typer.Option("--reference", help=_option_help("reference"))] = False,
    neutral: Annotated[str, typer.Option("--neutral", help=_option_help("neutral"))] = "correct",
    kind: KindOpt = None,
    label_source: Annotated[str, typer.Option("--label-source", help=_option_help("label_source"))] = "human",
) -> None:
    """Read INPUT in one format and write OUTPUT in another."""
    reader, writer = FORMATS.get(source), FORMATS.get(target)
    writer.check_writable()
    options = LoadOptions(reference=reference, neutral=neutral, kind=kind, label_source=label_source)  # type: ignore[arg-type]
    if Path(input).exists() or not reader.splits:
        file, split = reader.resolve(path=input)
    elif input in reader.splits:
        file, split = reader.resolve(split=input)
    else:
        raise DataError(f"file not found, nor a {source} split ({', '.join(reader.splits)})", path=input)
    refuse_same_file(output, file)
    results = counted(reader.results(file, split, options), f"reading {file.name}")
    try:
        records = collect(results, limit)
    finally:
        results.close()
    written = writer.write(records, output)
    typer.echo(f"wrote {written} {target} rows to {output} ({len(records)} records from {file})")


def register(app: typer.Typer) -> None:
    data_app = new_app("Dataset files: list formats, validate records, convert between formats.")
    data_app.command("formats")(formats)
    data_app.command("validate")(validate)
    data_app.command("convert")(convert)
    app.add_typer(data_app, name="data")
