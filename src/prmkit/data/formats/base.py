"""The dataset-format registry and what every format shares.

A format turns the rows of one kind of file into prmkit records. Each row is first checked against
the format's raw ``schema`` (a strict pydantic model, so a missing or mistyped field becomes a
one-line ``DataError`` naming file, line and field), then ``convert``ed into zero or more records.
``DatasetFormat.results`` yields one ``Result`` per row, which lets loading stop at the first bad row
and validation report them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from prmkit.data.formats.rows import Row, iter_jsonl_rows
from prmkit.data.jsonl import UniqueIds, validation_errors
from prmkit.data.records import (
    RECORD_KINDS,
    LabeledSolution,
    LabelSource,
    Problem,
    Record,
    Solution,
    StepLabels,
    record_key,
)
from prmkit.errors import ConfigError, DataError
from prmkit.paths import shared_data_dir
from prmkit.registry import Registry


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("empty step (only whitespace)")
    return text


StepText = Annotated[str, AfterValidator(_not_blank)]
"""A solution step in a raw row: any text that is not blank."""


class RawRow(BaseModel):
    """Base of the raw-row schemas: strict types (no "5" for 5), unknown columns ignored."""

    model_config = ConfigDict(strict=True, extra="ignore")


@dataclass(frozen=True)
class LoadOptions:
    """Options that change how a format's rows become records (each applies to some formats)."""

    reference: bool = field(
        default=False,
        metadata={
            "help": "problem sets: emit each problem with its reference solution (unlabelled) instead of the bare problem"
        },
    )
    neutral: Literal["correct", "wrong"] = field(
        default="correct",
        metadata={
            "help": "PRM800K: label for a 0 (neutral) rating; 'correct' is Qwen's mapping (1 and 0 correct, -1 wrong)"
        },
    )
    kind: str | None = field(
        default=None, metadata={"help": "our JSONL: record kind to expect instead of detecting it per line"}
    )
    label_source: LabelSource = field(
        default="human", metadata={"help": "trl-stepwise: label source to record (the format does not say)"}
    )

    def __post_init__(self) -> None:
        if self.neutral not in ("correct", "wrong"):
            raise ConfigError(f"neutral must be 'correct' or 'wrong', not {self.neutral!r}")
        if self.label_source not in get_args(LabelSource):
            raise ConfigError(
                f"unknown label source {self.label_source!r}; known: {', '.join(get_args(LabelSource))}"
            )
        if self.kind is not None and self.kind not in RECORD_KINDS:
            raise ConfigError(f"unknown record kind {self.kind!r}; known: {', '.join(RECORD_KINDS)}")

    def rating_label(self, rating: int) -> int:
        """PRM800K rating (-1, 0, 1) -> hard label (0 wrong, 1 correct)."""
        return 1 if rating > 0 or (rating == 0 and self.neutral == "correct") else 0


@dataclass
class LoadContext:
    split: str
    options: LoadOptions
    state: dict[str, Any] = field(default_factory=dict)  # per-file memory (e.g. problem numbering)


@dataclass
class Result:
    """What one input row produced: records, or the errors that stopped it."""

    row: Row | None
    records: list[Record] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)


class DatasetFormat:
    """A readable (and maybe writable) file format. Subclasses set the class attributes and
    override ``convert`` (and ``rows`` for non-JSONL containers, ``write`` for writable ones)."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    folder: ClassVar[str | None] = None  # offline copy under shared_data_dir()
    splits: ClassVar[dict[str, str]] = {}  # split -> file in ``folder``; the first is the default
    schema: ClassVar[type[BaseModel] | None] = None
    writable: ClassVar[bool] = False

    def resolve(self, split: str | None = None, path: str | Path | None = None) -> tuple[Path, str]:
        """The file to read and the split name used in record ids."""
        if path is not None:
            path = Path(path)
            known = {Path(file).stem: name for name, file in self.splits.items()}  # also for a .parquet twin
            return path, split or known.get(path.stem, path.stem)
        if not self.splits or self.folder is None:
            raise ConfigError(f"format {self.name!r} has no offline copy; give a file path")
        split = split or next(iter(self.splits))
        if split not in self.splits:
            raise ConfigError(f"unknown {self.name} split {split!r}; known: {', '.join(self.splits)}")
        return shared_data_dir() / self.folder / self.splits[split], split

    def rows(self, path: Path) -> Iterator[Row | DataError]:
        return iter_jsonl_rows(path)

    def check_options(self, options: LoadOptions) -> None:
        if options.reference:
            raise ConfigError(f"format {self.name!r} has no reference solutions (drop --reference)")

    def parse(self, row: Row, ctx: LoadContext) -> tuple[Any, list[DataError]]:
        """Check a row against ``schema``; return the parsed row or every field error."""
        if self.schema is None:
            return row.obj, []
        parsed, errors = validation_errors(self.schema, row.obj, row.path, row.line)
        return parsed, [row.error(e.message, e.field) for e in errors]

    def convert(self, raw: Any, row: Row, ctx: LoadContext) -> list[Record]:
        raise NotImplementedError

    def results(self, path: Path, split: str, options: LoadOptions) -> Iterator[Result]:
        """One Result per row of ``path``."""
        self.check_options(options)
        return self.results_of(self.rows(path), split, options)

    def results_of(
        self, rows: Iterable[Row | DataError], split: str, options: LoadOptions
    ) -> Iterator[Result]:
        """One Result per row of ``rows`` (already read, e.g. from a ``datasets.Dataset``)."""
        ctx = LoadContext(split=split, options=options)
        for item in rows:
            if isinstance(item, DataError):
                yield Result(None, errors=[item])
                continue
            raw, errors = self.parse(item, ctx)
            if errors:
                yield Result(item, errors=errors)
                continue
            try:
                yield Result(item, records=self.convert(raw, item, ctx))
            except DataError as exc:
                yield Result(item, errors=[exc])
            except ValidationError as exc:  # a record the raw row could not make; a safety net
                err = exc.errors()[0]
                where = ".".join(str(p) for p in err["loc"])
                msg = err["msg"].removeprefix("Value error, ")
                yield Result(item, errors=[item.error(f"invalid {exc.title} ({where or 'record'}): {msg}")])

    def check_writable(self) -> None:
        if not self.writable:
            writable = ", ".join(n for n in FORMATS.names() if FORMATS.get(n).writable)
            raise ConfigError(f"format {self.name!r} can only be read; writable formats: {writable}")

    def write(self, records: Iterable[Record], path: Path) -> int:
        """Write ``records`` to ``path``; return the number of rows written (writable formats)."""
        self.check_writable()
        raise NotImplementedError

    def problem_id(self, row: Row, ctx: LoadContext) -> str:
        return f"{self.name}-{ctx.split}-{row.index}"


class ProblemSetFormat(DatasetFormat):
    """A benchmark of problems with gold answers, optionally with reference solutions."""

    has_reference: ClassVar[bool] = True

    def check_options(self, options: LoadOptions) -> None:
        if not self.has_reference:
            super().check_options(options)

    def problem(self, raw: Any, row: Row, ctx: LoadContext) -> Problem:
        raise NotImplementedError

    def reference_steps(self, raw: Any) -> list[str]:
        raise NotImplementedError

    def convert(self, raw: Any, row: Row, ctx: LoadContext) -> list[Record]:
        problem = self.problem(raw, row, ctx)
        if not ctx.options.reference:
            return [problem]
        steps = self.reference_steps(raw)
        if not steps:
            raise row.error("empty reference solution", field="solution")
        solution = Solution(
            id=f"{problem.id}/ref",
            problem_id=problem.id,
            steps=steps,
            final_answer=problem.answer,
            generator={"model": "reference"},
        )
        return [LabeledSolution(problem=problem, solution=solution)]


FORMATS: Registry[DatasetFormat] = Registry("dataset format")


def register(cls: type[DatasetFormat]) -> type[DatasetFormat]:
    """Class decorator: register one instance of a format under its ``name``."""
    FORMATS.register(cls.name)(cls())
    return cls


def collect(
    results: Iterable[Result], limit: int | None = None, check: Callable[[Record], None] | None = None
) -> list[Record]:
    """All records of ``results`` (at most ``limit``), raising the first error or repeated id, or the
    first ``DataError`` of ``check`` (which names a field) with the row's file and line."""
    out: list[Record] = []
    ids: UniqueIds | None = None
    for result in results:
        if result.errors:
            raise result.errors[0]
        for record in result.records:
            if check is not None:
                try:
                    check(record)
                except DataError as exc:
                    raise (result.row.error(exc.message, exc.field) if result.row else exc) from None
            if result.row is not None:
                ids = ids or UniqueIds(result.row.path)
                ids.add(record_key(record), result.row.line)
        out.extend(result.records)
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


def load_dataset_records(
    name: str,
    split: str | None = None,
    path: str | Path | None = None,
    limit: int | None = None,
    check: Callable[[Record], None] | None = None,
    **options: Any,
) -> list[Record]:
    """Read a dataset in format ``name`` (see ``FORMATS.names()``) as prmkit records, each passed to
    ``check`` when given (its ``DataError`` is raised with the row's file and line).

    Without ``path`` the offline copy of ``split`` (default: the format's first split) is read from
    ``prmkit.paths.shared_data_dir()``. ``options`` are ``LoadOptions`` fields, e.g.
    ``reference=True`` or ``neutral="wrong"``. Raises ``DataError`` on the first bad row.
    """
    fmt = FORMATS.get(name)
    file, split = fmt.resolve(split, path)
    try:
        opts = LoadOptions(**options)
    except TypeError as exc:
        raise ConfigError(f"bad load option: {exc}") from None
    return collect(fmt.results(file, split, opts), limit, check)


def write_records(records: Iterable[Record], path: str | Path, name: str = "jsonl") -> int:
    """Write records in format ``name``; return how many rows were written."""
    return FORMATS.get(name).write(records, Path(path))


def hard_labels(labels: StepLabels) -> list[int]:
    """The 0/1 label of every step: ``hard`` when given, else implied by ``first_error``."""
    if labels.hard is not None:
        return list(labels.hard)
    implied = StepLabels.from_first_error(
        labels.solution_id, labels.num_steps, labels.first_error, source=labels.source
    )
    assert implied.hard is not None
    return implied.hard


def labelled(records: Iterable[Record], fmt: str) -> Iterator[tuple[LabeledSolution, StepLabels]]:
    """The (record, labels) pairs of labelled solutions; anything else is a DataError."""
    for i, rec in enumerate(records):
        if not isinstance(rec, LabeledSolution) or rec.labels is None:
            what = "an unlabelled solution" if isinstance(rec, LabeledSolution) else f"a {type(rec).__name__}"
            raise DataError(
                f"record {i} is {what}; {fmt} needs labelled solutions (LabeledSolution with labels)"
            )
        yield rec, rec.labels
