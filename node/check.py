"""`lhs node check`: is an extract usable, and what in it does the node set aside?

Reports each contract table (present, rows, missing columns), values that do
not parse (dates that are not ISO YYYY-MM-DD, ids that are not whole numbers)
and the rows the conventions make invalid.  It only reads.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import click
import sqlalchemy as sa

from protocol import (
    EVENT_TABLES,
    OPTIONAL_TABLES,
    TABLES,
    IndexEvent,
    QuerySpec,
    ValueRange,
    load_spec,
)
from queries import library_paths

from .errors import DataSourceError
from .sources import EXPECTED, DataSource, FolderSource, bad_value_sql, first_line, open_source
from .units import event_rows, value_match

__all__ = ["CheckReport", "TableReport", "check_command", "check_source", "format_report"]


@dataclass
class TableReport:
    """What the check found in one contract table."""

    name: str
    present: bool
    rows: int = 0
    missing_columns: list[str] = field(default_factory=list)
    unparseable: dict[str, int] = field(default_factory=dict)


@dataclass
class CheckReport:
    """The whole extract: tables, unparseable values and invalid rows."""

    location: str
    tables: list[TableReport]
    findings: list[tuple[str, int, str]] = field(default_factory=list)
    """(what, count, what the node does about it)."""

    @property
    def problems(self) -> list[str]:
        """Return what makes the extract unusable, one line each."""
        out = []
        for t in self.tables:
            if not t.present and t.name not in OPTIONAL_TABLES:
                out.append(f"table '{t.name}' is missing")
            elif t.missing_columns:
                out.append(f"table '{t.name}' lacks column(s) {', '.join(t.missing_columns)}")
            for column, n in t.unparseable.items():
                expected = EXPECTED[TABLES[t.name][column]]
                out.append(f"{t.name}.{column}: {n} value(s) are not {expected}")
        return out

    @property
    def ok(self) -> bool:
        """Return whether every query of the library can run on this extract."""
        return not self.problems


def _scalar(connection: sa.Connection, statement: sa.Select) -> int:
    return int(connection.execute(statement).scalar_one() or 0)


def _unparseable(source: FolderSource, table: str) -> dict[str, int]:
    present = source.raw_columns(table)
    checks, reads = [], []
    for column, kind in TABLES[table].items():
        if column not in present:
            continue
        real, stored = present[column]
        quoted = '"' + real.replace('"', '""') + '"'
        # The very values a query over the table refuses (see sources.value_sql).
        bad = bad_value_sql(quoted, stored, kind)
        if bad is not None:
            checks.append((column, f"COUNT(*) FILTER (WHERE {bad})"))
        else:  # read every value all the same, so a damaged file is found here, by name
            reads.append(f"MIN(hash({quoted}))")
    if not checks and not reads:
        return {}
    sql = f"SELECT {', '.join([c for _, c in checks] + reads)} FROM {source.reader_sql(table)}"
    try:
        with source.engine.connect() as connection:
            counts = connection.exec_driver_sql(sql).one()
    except sa.exc.SQLAlchemyError as exc:
        raise DataSourceError(f"cannot read {source.files[table]}: {first_line(exc)}") from None
    return {column: int(n) for (column, _), n in zip(checks, counts, strict=False) if n}


def _findings(source: DataSource, usable: set[str]) -> list[tuple[str, int, str]]:
    out: list[tuple[str, int, str]] = []
    if "person" not in usable:
        return out
    person = source.table("person")
    with source.connect() as c:
        sex_unknown = _scalar(
            c,
            sa.select(sa.func.count()).where(
                sa.or_(
                    person.c.gender_concept_id.is_(None),
                    person.c.gender_concept_id.not_in([8507, 8532]),
                )
            ),
        )
        out.append(("persons with unknown sex", sex_unknown, "counted as sex U"))
        no_birth = _scalar(c, sa.select(sa.func.count()).where(person.c.year_of_birth.is_(None)))
        out.append(("persons without a year of birth", no_birth, "excluded from every cohort"))
        if "death" in usable:
            death = source.table("death")
            joined = death.join(person, person.c.person_id == death.c.person_id)
            year = sa.cast(sa.extract("year", death.c.death_date), sa.Integer)
            before = _scalar(
                c,
                sa.select(sa.func.count(sa.distinct(death.c.person_id)))
                .select_from(joined)
                .where(year < person.c.year_of_birth),
            )
            out.append(
                (
                    "persons whose year of death is before their year of birth",
                    before,
                    "excluded from every cohort",
                )
            )
            per_person = (
                sa.select(death.c.person_id)
                .group_by(death.c.person_id)
                .having(sa.func.count() > 1)
                .subquery()
            )
            several = _scalar(c, sa.select(sa.func.count()).select_from(per_person))
            out.append(("persons with more than one death row", several, "earliest date used"))
        if "visit_occurrence" in usable:
            v = source.table("visit_occurrence")
            backwards = _scalar(
                c, sa.select(sa.func.count()).where(v.c.visit_end_date < v.c.visit_start_date)
            )
            out.append(("visits that end before they start", backwards, "never counted"))
        for name, info in EVENT_TABLES.items():
            if name in ("death",) or name not in usable:
                continue
            events = source.table(name)
            # An anti-join: DuckDB plans NOT EXISTS over the CSV views as a cross product.
            orphans = _scalar(
                c,
                sa.select(sa.func.count())
                .select_from(events.outerjoin(person, person.c.person_id == events.c.person_id))
                .where(person.c.person_id.is_(None)),
            )
            out.append((f"{name} rows of persons not in person", orphans, "ignored"))
            if "death" in usable:
                death = source.table("death")
                # The earliest date of death, as the cohorts use: one row per person, so an
                # event of a person with several death rows is counted once.
                died = (
                    sa.select(death.c.person_id, sa.func.min(death.c.death_date).label("day"))
                    .group_by(death.c.person_id)
                    .subquery()
                )
                after = _scalar(
                    c,
                    sa.select(sa.func.count())
                    .select_from(events.join(died, died.c.person_id == events.c.person_id))
                    .where(events.c[info.date] > died.c.day),
                )
                out.append(
                    (
                        f"{name} rows dated after death",
                        after,
                        "outside every window that ends at death",
                    )
                )
    return out


def _value_findings(
    source: DataSource, usable: set[str], specs: list[QuerySpec]
) -> list[tuple[str, int, str]]:
    """Rows of the library's valued events whose value is missing or outside its range."""
    events: dict[str, tuple[IndexEvent, ValueRange]] = {}
    for spec in specs:
        cohort = spec.cohort
        found = [c for _, c in cohort.criteria()]
        found += [getattr(m, "event", None) for m in spec.measures]
        found += [cohort.event, cohort.qualifying.event if cohort.qualifying else None]
        for event in found:
            if event is None or event.value_range is None or event.table not in usable:
                continue
            rows = IndexEvent.model_validate(
                event.model_dump(
                    include={"table", "icd10", "atc", "source_codes", "loinc", "concepts"}
                )
            )
            key = rows.model_dump_json() + event.value_range.model_dump_json()
            events.setdefault(key, (rows, event.value_range))
    out = []
    with source.connect() as c:
        for event, valid in events.values():
            table = source.table(event.table)
            ok = sa.and_(*value_match(table.c.value_as_number, valid, None))
            bad = _scalar(c, sa.select(sa.func.count()).where(*event_rows(table, event), ~ok))
            codes = ", ".join([*event.codes, *event.loinc, *map(str, event.concepts)])
            span = f"{_number(valid.min)}..{_number(valid.max)}"
            what = f"{event.table} rows of {codes} without a value in {span}"
            out.append((what, bad, "not values: ignored"))
    return out


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _event_findings(
    source: DataSource, usable: set[str], specs: list[QuerySpec]
) -> list[tuple[str, int, str]]:
    """Events of the library's event cohorts that its specs set aside: after death, before birth."""
    out: list[tuple[str, int, str]] = []
    seen: set[str] = set()
    for spec in specs:
        cohort, event = spec.cohort, spec.cohort.event
        if event is None or event.table not in usable or not {"person", "death"} <= usable:
            continue
        after = any(c.table == "death" for c in cohort.exclude)
        before = cohort.age is not None and cohort.age.min == 0
        key = event.model_dump_json()
        if key in seen or not (after or before):
            continue
        seen.add(key)
        out += _events_set_aside(source, event, after, before)
    return out


def _events_set_aside(
    source: DataSource, event: IndexEvent, after: bool, before: bool
) -> list[tuple[str, int, str]]:
    info = EVENT_TABLES[event.table]
    rows, person, death = source.table(event.table), source.table("person"), source.table("death")
    units = (
        sa.select(rows.c.person_id, rows.c[info.date].label("day"))
        .where(*event_rows(rows, event))
        .distinct()
        .subquery()
    )
    died = (
        sa.select(death.c.person_id, sa.func.min(death.c.death_date).label("day"))
        .group_by(death.c.person_id)
        .subquery()
    )
    name = event.label or event.table
    out = []
    with source.connect() as c:
        if after:
            joined = units.join(died, died.c.person_id == units.c.person_id)
            n = _scalar(
                c, sa.select(sa.func.count()).select_from(joined).where(units.c.day > died.c.day)
            )
            out.append((f"{name} dated after death", n, "excluded (a data error)"))
        if before:
            joined = units.join(person, person.c.person_id == units.c.person_id)
            year = sa.cast(sa.extract("year", units.c.day), sa.Integer)
            n = _scalar(
                c,
                sa.select(sa.func.count()).select_from(joined).where(year < person.c.year_of_birth),
            )
            out.append((f"{name} dated before the year of birth", n, "excluded (a data error)"))
    return out


def check_source(source: DataSource) -> CheckReport:
    """Check an extract against the contract; read-only."""
    tables: list[TableReport] = []
    usable: set[str] = set()
    for name in TABLES:
        if not source.has_table(name):
            tables.append(TableReport(name, present=False))
            continue
        report = TableReport(name, present=True)
        tables.append(report)
        try:
            source.table(name)
        except DataSourceError as exc:
            if "lacks column" not in str(exc):
                raise
            if isinstance(source, FolderSource):
                present = source.raw_columns(name)
            else:
                present = source.real_columns(name)  # type: ignore[attr-defined]
            report.missing_columns = [c for c in TABLES[name] if c not in present]
            continue
        if isinstance(source, FolderSource):
            report.unparseable = _unparseable(source, name)
        try:
            with source.connect() as c:
                report.rows = _scalar(c, sa.select(sa.func.count()).select_from(source.table(name)))
        except sa.exc.SQLAlchemyError as exc:
            raise DataSourceError(f"cannot read table '{name}': {first_line(exc)}") from None
        if not report.unparseable:
            usable.add(name)
    try:
        findings = _findings(source, usable)
        specs = [load_spec(path) for path in library_paths()]
        findings += _value_findings(source, usable, specs)
        findings += _event_findings(source, usable, specs)
    except sa.exc.SQLAlchemyError as exc:
        raise DataSourceError(f"cannot check {source.location}: {first_line(exc)}") from None
    return CheckReport(source.location, tables, findings)


def format_report(report: CheckReport) -> str:
    """Return the report as text for a terminal."""
    lines = [f"Extract: {report.location}", "", f"{'table':<22} {'rows':>12}  status"]
    for t in report.tables:
        if not t.present and t.name in OPTIONAL_TABLES:
            status = "absent (needed only by the indicators on lab values and scores)"
        elif not t.present:
            status = "MISSING"
        elif t.missing_columns:
            status = "MISSING COLUMNS: " + ", ".join(t.missing_columns)
        elif t.unparseable:
            status = "UNPARSEABLE: " + ", ".join(f"{c} ({n})" for c, n in t.unparseable.items())
        else:
            status = "ok"
        rows = f"{t.rows:,}" if t.present and not t.missing_columns else "-"
        lines.append(f"{t.name:<22} {rows:>12}  {status}")
    lines += ["", "Data quality (the contract's conventions)"]
    for what, n, action in report.findings:
        lines.append(f"  {n:>10,}  {what}" + (f": {action}" if n else ""))
    lines += [
        "",
        "Result: " + ("usable" if report.ok else "NOT usable: " + "; ".join(report.problems)),
    ]
    return "\n".join(lines) + "\n"


@click.command("check")
@click.option("--data", required=True, help="Extract folder (CSV/Parquet) or SQLAlchemy URL.")
@click.option("--schema", help="Database schema of the extract tables.")
def check_command(data: str, schema: str | None) -> None:
    """Check an extract: tables, columns, types and the contract's invalid rows."""
    try:
        source = open_source(data, schema=schema)
        try:
            report = check_source(source)
        finally:
            source.close()
    except DataSourceError as exc:
        click.echo(f"lhs: error: {exc}", err=True)
        sys.exit(2)
    click.echo(format_report(report), nl=False)
    if not report.ok:
        for problem in report.problems:
            click.echo(f"lhs: error: {problem}", err=True)
        sys.exit(1)
