"""The files administrators hand the service (definition YAML, CSV and XLSX tables): read them
into data with every problem said by file, place and line, and write tables back out.

Every such file is untrusted, so the limits that keep a hostile one from hurting the service
live here, in the one reader of each format:

- YAML: no anchors or aliases (a few hundred bytes of nested aliases expand to billions of
  nodes), at most ``MAX_YAML_DEPTH`` levels of nesting, at most ``MAX_YAML_BYTES`` of text.
- Tables: at most ``MAX_ROWS`` rows and ``MAX_COLUMNS`` columns; an XLSX workbook is checked
  as a zip (entries, uncompressed size) before any of it is read, and its rows are read as
  they are, not as the dimension it claims.

Written tables neutralise text that a spreadsheet would run as a formula, in a way the readers
here undo, so that an exported list imports back exactly (see ``csv_cell``)."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from marshmallow import Schema, ValidationError

MAX_YAML_BYTES = 1024 * 1024
MAX_CSV_BYTES = 16 * 1024 * 1024
MAX_YAML_DEPTH = 32
MAX_ROWS = 10_000
MAX_COLUMNS = 64
MAX_XLSX_BYTES = 32 * 1024 * 1024
MAX_XLSX_ENTRIES = 1000
# What a spreadsheet program may take as the start of a formula (OWASP's list).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a definition file, said where it is."""

    file: str
    place: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.place}: {self.message}" if self.place else f"{where}: {self.message}"
        )


def flatten(messages: Any, path: str = "") -> Iterable[tuple[str, str]]:
    """marshmallow's nested error messages as (place, message) pairs: ``transitions[3].dest``."""
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                yield from flatten(value, path)
                continue
            if isinstance(key, int):
                sub = f"{path}[{key}]"
            elif path:
                sub = f"{path}.{key}"
            else:
                sub = str(key)
            # marshmallow reports a Dict's key and value problems under "key"/"value".
            if isinstance(value, Mapping) and set(value) <= {"key", "value"} and value:
                for part in ("key", "value"):
                    if part in value:
                        yield from flatten(value[part], sub)
                continue
            yield from flatten(value, sub)
    elif isinstance(messages, list):
        for m in messages:
            if isinstance(m, str):
                yield path, m
            else:
                yield from flatten(m, path)
    else:
        yield path, str(messages)


def nearest_line(lines: Mapping[str, int], place: str) -> int | None:
    """The line of PLACE, or of the nearest enclosing place the file has."""
    while place:
        if place in lines:
            return lines[place]
        cut = max(place.rfind("."), place.rfind("["))
        place = place[:cut] if cut > 0 else ""
    return lines.get("")


# ---------------------------------------------------------------- YAML with line numbers


class _Refused(yaml.MarkedYAMLError):
    pass


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases and nesting deeper than MAX_YAML_DEPTH,
    before composing what they would build."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        mark: Any = event.start_mark
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _Refused(
                problem="anchors and aliases (&name, *name) are not accepted: "
                "write the content out in full",
                problem_mark=mark,
            )
        if not isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_YAML_DEPTH:
            raise _Refused(
                problem=f"nested deeper than {MAX_YAML_DEPTH} levels",
                problem_mark=mark,
            )
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _node_lines(root: yaml.Node | None) -> dict[str, int]:
    """Map each place (``transitions[3].dest``) of a composed document to its 1-based line."""
    lines: dict[str, int] = {}
    stack: list[tuple[yaml.Node, str]] = [(root, "")] if root is not None else []
    while stack:
        node, path = stack.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = f"{path}.{key.value}" if path else str(key.value)
                lines[sub] = key.start_mark.line + 1
                stack.append((value, sub))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((value, f"{path}[{i}]") for i, value in enumerate(node.value))
    return lines


def read_yaml(text: str, rel: str) -> tuple[Any, dict[str, int], list[Problem]]:
    """One YAML document: its data and the line of each place in it, or the problems.

    The document is composed once, within the limits, and both the data and the lines are
    taken from that one composition."""
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_YAML_BYTES:
        return None, {}, [Problem(rel, "", f"larger than {MAX_YAML_BYTES // 1024} KiB", None)]
    loader = _BoundedLoader(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        return None, {}, [Problem(rel, "", f"malformed YAML: {getattr(exc, 'problem', exc)}", line)]
    except ValueError as exc:
        # A scalar YAML takes for a date or a number but Python cannot build: 2026-13-45.
        return None, {}, [Problem(rel, "", f"malformed YAML: {exc}", None)]
    finally:
        loader.dispose()
    return data, _node_lines(root), []


def file_text(path: Path, rel: str, limit: int) -> tuple[str | None, list[Problem]]:
    """A definition file's text (UTF-8, with or without a BOM), or why it cannot be read: too
    large (checked before reading it), not UTF-8."""
    try:
        if path.stat().st_size > limit:
            return None, [Problem(rel, "", f"larger than {limit // 1024} KiB")]
        return path.read_bytes().decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        return None, [Problem(rel, "", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]
    except OSError as exc:
        return None, [Problem(rel, "", f"cannot be read: {exc.strerror}")]


def read_yaml_file(path: Path, rel: str) -> tuple[Any, dict[str, int], list[Problem]]:
    """read_yaml of a file."""
    text, problems = file_text(path, rel, MAX_YAML_BYTES)
    if text is None:
        return None, {}, problems
    return read_yaml(text, rel)


def read_csv_file(
    path: Path, rel: str, columns: Sequence[str], required: Sequence[str]
) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """read_csv_rows of a file."""
    text, problems = file_text(path, rel, MAX_CSV_BYTES)
    if text is None:
        return [], problems
    return read_csv_rows(text, rel, columns, required)


# ---------------------------------------------------------------- tables in


def _too_big(rel: str, rows: int, columns: int) -> list[Problem]:
    if rows > MAX_ROWS:
        return [Problem(rel, "", f"more than {MAX_ROWS} rows", MAX_ROWS + 1)]
    if columns > MAX_COLUMNS:
        return [Problem(rel, "", f"more than {MAX_COLUMNS} columns", None)]
    return []


def csv_table(text: str, rel: str) -> tuple[list[list[str]] | None, list[Problem]]:
    """The rows of a CSV text, each cell with the export's formula guard undone (csv_cell)."""
    reader = csv.reader(io.StringIO(text))
    rows: list[list[str]] = []
    try:
        for row in reader:
            if len(rows) >= MAX_ROWS or len(row) > MAX_COLUMNS:
                return None, _too_big(rel, len(rows) + 1, len(row))
            rows.append([uncsv_cell(c) for c in row])
    except csv.Error as exc:
        return None, [Problem(rel, "", f"malformed CSV: {exc}", reader.line_num)]
    return rows, []


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as the text the CSV reader would see (3.0 -> "3", None -> "")."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _zip_problem(data: bytes) -> str | None:
    """Why the workbook's zip is refused before it is opened: what its entries would unpack to
    (the zip reader stops at each entry's declared size, so the declared sizes bound it)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            entries = z.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        return f"not a readable XLSX workbook: {exc}"
    if len(entries) > MAX_XLSX_ENTRIES:
        return f"not a readable XLSX workbook: more than {MAX_XLSX_ENTRIES} parts"
    if sum(e.file_size for e in entries) > MAX_XLSX_BYTES:
        return f"unpacks to more than {MAX_XLSX_BYTES // (1024 * 1024)} MiB"
    return None


def _why(exc: BaseException) -> str:
    """The reason openpyxl gives, in one line; the XML guard's refusal said plainly."""
    cause: BaseException | None = exc
    while cause is not None:
        if type(cause).__module__.startswith("defusedxml"):
            return "it declares XML entities (a DTD), which no spreadsheet program writes"
        cause = cause.__cause__ or cause.__context__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def xlsx_table(data: bytes, rel: str) -> tuple[list[list[str]] | None, list[Problem]]:
    """The first sheet of a workbook, row for row (so row numbers stay Excel's), each cell as
    text. Cells past the header's last column count only when something is in them."""
    why = _zip_problem(data)
    if why:
        return None, [Problem(rel, "", why)]
    from openpyxl import load_workbook

    rows: list[list[str]] = []
    # An uploaded workbook is untrusted: a broken zip, missing parts or bad XML raise many
    # kinds of error from openpyxl, and every one of them means the same to the user.
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            # The dimension a sheet claims (A1:XFD1048576) is not what it holds: read the rows
            # there are, and no further than one past the limit.
            sheet.reset_dimensions()
            for row in sheet.iter_rows(max_row=MAX_ROWS + 1, values_only=True):
                if len(rows) >= MAX_ROWS or len(row) > MAX_COLUMNS:
                    return None, _too_big(rel, len(rows) + 1, len(row))
                rows.append([_cell_text(v) for v in row])
        finally:
            book.close()
    except Exception as exc:
        return None, [Problem(rel, "", f"not a readable XLSX workbook: {_why(exc)}")]
    if not rows:
        return [], []
    width = len(rows[0])
    while width and not rows[0][width - 1].strip():
        width -= 1
    out = []
    for row in rows:
        extra = row[width:]
        row = row[:width] + [""] * (width - len(row))
        out.append(row + extra if any(c.strip() for c in extra) else row)
    return out, []


def table_rows(
    table: list[list[str]], rel: str, columns: Sequence[str], required: Sequence[str]
) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """Rows as {column: cell} with their 1-based line numbers (the header is line 1), or the
    header's problems. Blank rows are skipped."""
    if not table:
        return [], [Problem(rel, "", "empty file: a header row is needed", 1)]
    header = [h.strip() for h in table[0]]
    problems = [
        Problem(rel, f"column {h!r}", "unknown column", 1) for h in header if h not in columns
    ]
    problems += [
        Problem(rel, f"column {c!r}", "missing column", 1) for c in required if c not in header
    ]
    if problems:
        return [], problems
    out: list[tuple[int, dict[str, str]]] = []
    for n, row in enumerate(table[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            problems.append(
                Problem(rel, f"row {n}", f"{len(row)} cells, the header has {len(header)}", n)
            )
            continue
        out.append((n, dict(zip(header, row, strict=True))))
    return out, problems


def read_csv_rows(
    text: str, rel: str, columns: Sequence[str], required: Sequence[str]
) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """A CSV file's rows with their line numbers, or its problems."""
    table, problems = csv_table(text, rel)
    if table is None:
        return [], problems
    return table_rows(table, rel, columns, required)


def load_rows(
    rows: list[tuple[int, dict[str, str]]], rel: str, schema: Schema
) -> tuple[list[tuple[int, Any]], list[Problem]]:
    """Each row loaded by SCHEMA, or its problems said by row and column."""
    out: list[tuple[int, Any]] = []
    problems: list[Problem] = []
    for n, row in rows:
        try:
            out.append((n, schema.load(row)))
        except ValidationError as exc:
            problems += [
                Problem(rel, f"row {n}, column {place}", msg, n)
                for place, msg in flatten(exc.messages)
            ]
    return out, problems


# ---------------------------------------------------------------- tables out


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell a spreadsheet will not run: text that starts like a formula gets a
    leading apostrophe, and so does text that already starts with an apostrophe followed by
    such a character or by another apostrophe, so that uncsv_cell gives back exactly VALUE."""
    if value is None:
        return ""
    if isinstance(value, str) and (
        value.startswith(FORMULA_START)
        or (value.startswith(QUOTE) and value[1:2] in (*FORMULA_START, QUOTE) and value[1:2])
    ):
        return QUOTE + value
    return value


def uncsv_cell(text: str) -> str:
    """The inverse of csv_cell: one leading apostrophe goes when a formula character or
    another apostrophe follows it; any other apostrophe is the cell's own."""
    if text.startswith(QUOTE) and text[1:2] and text[1:2] in (*FORMULA_START, QUOTE):
        return text[1:]
    return text


def write_table(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    sheet_title: str,
    freeze: str = "A2",
    encoding: str = "utf-8",
    number_formats: Mapping[int, str] | None = None,
) -> None:
    """Write a table to PATH, CSV or XLSX by its suffix, with no cell a spreadsheet would run.

    In XLSX every text cell is stored as text (never a formula or an error value), and text
    that starts like a formula carries Excel's quote prefix (shown as typed with a leading
    apostrophe, kept as text when edited); the cell's value is the text itself. In CSV such
    text gets a leading apostrophe (csv_cell). NUMBER_FORMATS: 1-based column -> format."""
    if path.suffix.lower() == ".csv":
        with path.open("w", encoding=encoding, newline="") as f:
            # CRLF as RFC 4180 and Excel have it; it also makes the writer quote a CR in a cell.
            writer = csv.writer(f, lineterminator="\r\n")
            writer.writerow([csv_cell(h) for h in header])
            writer.writerows([csv_cell(v) for v in row] for row in rows)
        return
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"{path.name}: write .xlsx or .csv")
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = sheet_title
    for r, row in enumerate([list(header), *rows], start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            if isinstance(value, str):
                cell.data_type = "s"
                if value.startswith(FORMULA_START):
                    cell.quotePrefix = True
            elif r > 1 and number_formats and c in number_formats:
                cell.number_format = number_formats[c]
    sheet.freeze_panes = freeze
    book.save(path)
