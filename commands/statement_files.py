"""Reading bank statement files (CSV with a column mapping, and OFX 1.x/2.x) as a stream.

A parser yields, line by line, either a ``StatementLine`` or a ``Rejected`` row (with the
file's line number and the reason); a file that cannot be read as a whole (not text, no
header, a mapped column missing, not OFX) raises ``MalformedFileError`` and the import
stores nothing. Nothing here holds more than one row (or one OFX transaction) at a time.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import IO, Any, Literal

from ledger.errors import InvalidInputError
from ledger.text import check_text

csv.field_size_limit(1 << 20)
MAX_FIELD = 500


class MalformedFileError(InvalidInputError):
    """The file cannot be read as a statement: nothing is imported."""


@dataclass(frozen=True, slots=True)
class StatementLine:
    line: int  # where the row (or the OFX transaction) starts in the file, from 1
    date: dt.date
    amount: Decimal  # signed: positive puts money in the account, negative takes it out
    description: str
    merchant: str | None = None
    external_id: str | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    line: int
    reason: str


Row = StatementLine | Rejected
Sign = Literal["signed", "inverted", "split"]


@dataclass(frozen=True, slots=True)
class CsvOptions:
    """How to read a CSV statement. Column names are matched without case or spaces around."""

    date_column: str = "date"
    amount_column: str | None = "amount"  # with sign "signed" or "inverted"
    debit_column: str | None = None  # with sign "split": money out
    credit_column: str | None = None  # with sign "split": money in
    description_column: str = "description"
    merchant_column: str | None = None
    id_column: str | None = None
    date_format: str = "%Y-%m-%d"
    decimal: str = "."
    thousands: str = ""
    sign: Sign = "signed"
    delimiter: str | None = None  # sniffed from the start of the file when None
    encoding: str = "utf-8"

    def check(self) -> CsvOptions:
        if self.decimal not in (".", ","):
            raise InvalidInputError("decimal separator is . or ,")
        if self.thousands not in ("", ",", ".", " ", "'") or self.thousands == self.decimal:
            raise InvalidInputError(
                "thousands separator is none, comma, dot, space or apostrophe, not the decimal one"
            )
        if self.sign == "split" and not (self.debit_column and self.credit_column):
            raise InvalidInputError("sign 'split' needs debit_column and credit_column")
        if self.sign != "split" and not self.amount_column:
            raise InvalidInputError("amount_column is needed unless sign is 'split'")
        if self.delimiter is not None and self.delimiter not in (",", ";", "\t", "|"):
            raise InvalidInputError("delimiter is one of , ; | or a tab")
        if not re.fullmatch(r"(%[dmYyb]|[-/. ])+", self.date_format) or "%d" not in self.date_format:
            raise InvalidInputError("date_format uses %d, %m or %b, %Y or %y and - / . or space")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise InvalidInputError(f"unknown encoding {self.encoding!r}") from None
        if self.encoding.lower().replace("_", "-") not in (
            "utf-8",
            "utf8",
            "latin-1",
            "iso-8859-1",
            "cp1252",
        ):
            raise InvalidInputError("encoding is utf-8, latin-1 or cp1252")
        return self


def parse_amount_text(text: str, decimal: str, thousands: str) -> Decimal:
    """'1.234,56' with decimal ',' and thousands '.' -> 1234.56; '(12.00)' and '12.00-' are
    negative; a currency symbol or code around the number is ignored."""
    value = text.strip()
    negative = False
    if value.startswith("(") and value.endswith(")"):
        negative, value = True, value[1:-1].strip()
    for _ in range(2):  # "-£4.20" and "£-4.20" alike
        if value.startswith(("-", "+")):
            negative, value = negative ^ (value[0] == "-"), value[1:].strip()
        value = re.sub(r"^[A-Z]{3}\s*|\s*[A-Z]{3}$|^[€$£¥]\s*|\s*[€$£¥]$", "", value)
    if value.endswith("-"):
        negative, value = True, value[:-1].strip()
    if thousands:
        parts = value.split(decimal)
        whole = parts[0]
        if thousands in whole and not re.fullmatch(rf"\d{{1,3}}(?:{re.escape(thousands)}\d{{3}})+", whole):
            raise InvalidInputError(f"{text!r} is not an amount")
        value = decimal.join([whole.replace(thousands, ""), *parts[1:]])
    if decimal == ",":
        if "." in value:
            raise InvalidInputError(f"{text!r} is not an amount")
        value = value.replace(",", ".")
    if not re.fullmatch(r"\d{1,15}(\.\d{1,4})?", value):
        raise InvalidInputError(f"{text!r} is not an amount")
    amount = Decimal(value)
    return -amount if negative else amount


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if not value:
        return None
    check_text("text", value[:MAX_FIELD], MAX_FIELD)
    return value[:MAX_FIELD]


def _decoded(stream: IO[bytes], encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        stream, encoding="utf-8-sig" if encoding.startswith("utf") else encoding, newline=""
    )


def read_csv(stream: IO[bytes], options: CsvOptions) -> Iterator[Row]:
    """Rows of a CSV statement with a header line (the caller closes ``stream``)."""
    options.check()
    text = _decoded(stream, options.encoding)
    try:
        yield from _csv_rows(text, options)
    finally:
        text.detach()  # the wrapper must neither close the caller's stream nor leak


def _csv_rows(text: io.TextIOWrapper, options: CsvOptions) -> Iterator[Row]:
    try:
        sample = text.read(64 * 1024)
        text.seek(0)
    except UnicodeDecodeError as error:
        raise MalformedFileError(f"the file is not {options.encoding} text: {error.reason}") from None
    if not sample.strip():
        raise MalformedFileError("the file is empty")
    if "\x00" in sample:
        raise MalformedFileError("the file is binary, not CSV text")
    delimiter = options.delimiter or _sniff(sample)
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as error:
        raise MalformedFileError(f"line 1: {error}") from None
    columns = {name.strip().casefold(): n for n, name in enumerate(header)}
    wanted = {
        "date": options.date_column,
        "description": options.description_column,
        **({"amount": options.amount_column} if options.sign != "split" else {}),
        **(
            {"debit": options.debit_column, "credit": options.credit_column}
            if options.sign == "split"
            else {}
        ),
        **({"merchant": options.merchant_column} if options.merchant_column else {}),
        **({"id": options.id_column} if options.id_column else {}),
    }
    index = {}
    for role, name in wanted.items():
        assert name is not None
        if name.strip().casefold() not in columns:
            shown = ", ".join(repr(h) for h in header[:20])
            raise MalformedFileError(f"line 1: no column {name!r} for the {role} (the columns are {shown})")
        index[role] = columns[name.strip().casefold()]
    width = len(header)
    while True:
        start = reader.line_num + 1  # a quoted field may span lines: report where the row starts
        try:
            fields = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as error:
            raise MalformedFileError(
                f"after line {reader.line_num}: the file is not {options.encoding} text ({error.reason})"
            ) from None
        except csv.Error as error:
            raise MalformedFileError(f"line {reader.line_num}: {error}") from None
        line = start
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != width:
            yield Rejected(line, f"expected {width} fields, found {len(fields)}")
            continue
        yield _csv_row(line, fields, index, options)


def _sniff(sample: str) -> str:
    first = sample.splitlines()[0] if sample.splitlines() else sample
    counts = {d: first.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _csv_row(line: int, fields: list[str], index: dict[str, int], options: CsvOptions) -> Row:
    try:
        date = dt.datetime.strptime(fields[index["date"]].strip(), options.date_format).date()
    except ValueError:
        return Rejected(line, f"{fields[index['date']]!r} is not a date like {options.date_format}")
    try:
        if options.sign == "split":
            debit, credit = fields[index["debit"]].strip(), fields[index["credit"]].strip()
            if bool(debit) == bool(credit):
                return Rejected(line, "exactly one of the debit and credit columns must hold an amount")
            amount = parse_amount_text(debit or credit, options.decimal, options.thousands)
            amount = -abs(amount) if debit else abs(amount)
        else:
            amount = parse_amount_text(fields[index["amount"]], options.decimal, options.thousands)
            if options.sign == "inverted":
                amount = -amount
    except (InvalidInputError, InvalidOperation) as error:
        return Rejected(line, str(error))
    if amount == 0:
        return Rejected(line, "the amount is zero")
    try:
        description = _text(fields[index["description"]])
        merchant = _text(fields[index["merchant"]]) if "merchant" in index else None
        external_id = _text(fields[index["id"]]) if "id" in index else None
    except InvalidInputError as error:
        return Rejected(line, str(error))
    return StatementLine(
        line, date, amount, description or merchant or "(no description)", merchant, external_id
    )


# --- OFX ----------------------------------------------------------------------------------

TRANSACTION = re.compile(r"<STMTTRN>(.*?)</STMTTRN>", re.DOTALL | re.IGNORECASE)
LEAF = re.compile(r"<([A-Z0-9.]+)>([^<]*)", re.IGNORECASE)
MAX_BLOCK = 64 * 1024


@dataclass
class OfxStatement:
    currency: str | None = None
    lines: int = 0
    seen: list[str] = field(default_factory=list)


def read_ofx(stream: IO[bytes], encoding: str = "utf-8", info: OfxStatement | None = None) -> Iterator[Row]:
    """Transactions of an OFX file (SGML 1.x or XML 2.x), one <STMTTRN> at a time."""
    text = _decoded(stream, encoding if encoding != "utf-8" else "cp1252")  # OFX 1.x is mostly cp1252
    try:
        yield from _ofx_rows(text, encoding, info or OfxStatement())
    finally:
        text.detach()


def _ofx_rows(text: io.TextIOWrapper, encoding: str, info: OfxStatement) -> Iterator[Row]:
    buffer, consumed_lines, started = "", 1, False
    while True:
        try:
            chunk = text.read(256 * 1024)
        except UnicodeDecodeError as error:
            raise MalformedFileError(f"the file is not {encoding} text: {error.reason}") from None
        if not started:
            head = (buffer + chunk)[:4096].upper()
            if "OFXHEADER" not in head and "<OFX>" not in head and "<?OFX" not in head:
                raise MalformedFileError("this is not an OFX file (no OFXHEADER or <OFX> at the start)")
            started = True
        buffer += chunk
        if info.currency is None and (found := re.search(r"<CURDEF>\s*([A-Za-z]{3})", buffer)):
            info.currency = found.group(1).upper()
        position = 0
        for match in TRANSACTION.finditer(buffer):
            line = consumed_lines + buffer.count("\n", 0, match.start())
            info.lines += 1
            yield _ofx_row(line, match.group(1))
            position = match.end()
        consumed_lines += buffer.count("\n", 0, position)
        buffer, consumed_lines = _trimmed(buffer[position:], consumed_lines)
        if not chunk:
            break
    if "<STMTTRN>" in buffer.upper():
        raise MalformedFileError(f"line {consumed_lines}: a <STMTTRN> is not closed")
    if info.lines == 0 and "<BANKTRANLIST>" not in buffer.upper() and "</OFX>" not in buffer.upper():
        raise MalformedFileError("the OFX file holds no transaction list")


def _trimmed(buffer: str, consumed_lines: int) -> tuple[str, int]:
    """Keep memory bounded: drop what precedes the last open <STMTTRN>."""
    if len(buffer) <= MAX_BLOCK + 256 * 1024:
        return buffer, consumed_lines
    keep = buffer.upper().rfind("<STMTTRN>")
    if keep == -1:
        return "", consumed_lines + buffer.count("\n")
    if len(buffer) - keep > MAX_BLOCK:
        raise MalformedFileError(f"line {consumed_lines}: a <STMTTRN> is not closed")
    return buffer[keep:], consumed_lines + buffer.count("\n", 0, keep)


def _ofx_row(line: int, block: str) -> Row:
    values: dict[str, str] = {}
    for tag, value in LEAF.findall(block):
        values.setdefault(tag.upper(), value.strip())
    if "TRNAMT" not in values or "DTPOSTED" not in values:
        return Rejected(line, "an OFX transaction needs TRNAMT and DTPOSTED")
    try:
        date = dt.datetime.strptime(values["DTPOSTED"][:8], "%Y%m%d").date()
    except ValueError:
        return Rejected(line, f"{values['DTPOSTED']!r} is not an OFX date")
    try:
        amount = parse_amount_text(values["TRNAMT"].replace(",", "."), ".", "")
    except InvalidInputError as error:
        return Rejected(line, str(error))
    if amount == 0:
        return Rejected(line, "the amount is zero")
    try:
        name = _text(_unescape(values.get("NAME")))
        memo = _text(_unescape(values.get("MEMO")))
        external_id = _text(values.get("FITID"))
    except InvalidInputError as error:
        return Rejected(line, str(error))
    return StatementLine(line, date, amount, memo or name or "(no description)", name, external_id)


def _unescape(value: str | None) -> str | None:
    if value is None:
        return None
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")


def detect_format(head: bytes, content_type: str = "") -> str:
    """ofx when the content type or the first bytes say so, else csv."""
    start = head[:4096].upper()
    if "ofx" in content_type.lower() or b"OFXHEADER" in start or b"<OFX>" in start:
        return "ofx"
    return "csv"


def read_statement(stream: IO[bytes], fmt: str, options: CsvOptions, source: dict[str, Any]) -> Iterator[Row]:
    """The rows of a CSV or OFX statement; an OFX file's currency (CURDEF) is noted in
    ``source["currency"]`` as soon as it is read, for the import to check."""
    ofx = OfxStatement()
    produced = read_ofx(stream, options.encoding, ofx) if fmt == "ofx" else read_csv(stream, options)
    for row in produced:
        if ofx.currency:
            source["currency"] = ofx.currency
        yield row
