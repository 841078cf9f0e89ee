"""Reading statement files: amount and date conventions, rejected rows with their line
numbers, and files refused as a whole."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from commands.statement_files import (
    CsvOptions,
    MalformedFileError,
    Rejected,
    StatementLine,
    parse_amount_text,
    read_csv,
    read_ofx,
)
from ledger.errors import InvalidInputError


@pytest.mark.parametrize(
    ("text", "decimal", "thousands", "value"),
    [
        ("12.34", ".", "", "12.34"),
        ("-12.34", ".", "", "-12.34"),
        ("+5", ".", "", "5"),
        ("1,234.56", ".", ",", "1234.56"),
        ("1.234,56", ",", ".", "1234.56"),
        ("1 234,56", ",", " ", "1234.56"),
        ("1'234.50", ".", "'", "1234.50"),
        ("(12.00)", ".", "", "-12.00"),
        ("12.00-", ".", "", "-12.00"),
        ("€ 3,50", ",", "", "3.50"),
        ("-£4.20", ".", "", "-4.20"),
        ("EUR 10.00", ".", "", "10.00"),
    ],
)
def test_amounts_in_the_ways_banks_write_them(text: str, decimal: str, thousands: str, value: str) -> None:
    assert parse_amount_text(text, decimal, thousands) == Decimal(value)


@pytest.mark.parametrize(
    ("text", "decimal", "thousands"),
    [("12.5.0", ".", ""), ("1,23.00", ".", ","), ("12.34", ",", "."), ("abc", ".", ""), ("", ".", ""),
     ("1e5", ".", ""), ("NaN", ".", ""), ("1" * 16, ".", "")],
)  # fmt: skip
def test_what_is_not_an_amount_is_refused(text: str, decimal: str, thousands: str) -> None:
    with pytest.raises(InvalidInputError):
        parse_amount_text(text, decimal, thousands)


def rows(text: str, **options: object) -> list[StatementLine | Rejected]:
    return list(read_csv(io.BytesIO(text.encode()), CsvOptions(**options).check()))  # type: ignore[arg-type]


def test_split_debit_and_credit_columns_and_inverted_signs() -> None:
    split = rows(
        "Date;Details;Paid out;Paid in\n01/11/2026;Rent;950,00;\n02/11/2026;Pay;;2.100,00\n"
        "03/11/2026;Both;1,00;1,00\n",
        date_column="Date", description_column="Details", debit_column="Paid out", credit_column="Paid in",
        sign="split", date_format="%d/%m/%Y", decimal=",", thousands=".",
    )  # fmt: skip
    assert [(r.line, r.amount) for r in split if isinstance(r, StatementLine)] == [
        (2, Decimal("-950.00")),
        (3, Decimal("2100.00")),
    ]
    assert split[2] == Rejected(4, "exactly one of the debit and credit columns must hold an amount")
    card = rows("date,amount,description\n2026-11-01,25.00,Shop\n", sign="inverted")
    assert card[0].amount == Decimal("-25.00")  # type: ignore[union-attr]


def test_rows_with_the_wrong_width_or_control_characters_are_rejected_with_their_line() -> None:
    found = rows('date,amount,description\n2026-11-01,1.00\n2026-11-02,2.00,"bell\x07"\n2026-11-03,3.00,ok\n')
    assert found[0] == Rejected(2, "expected 3 fields, found 2")
    assert isinstance(found[1], Rejected)
    assert found[1].line == 3
    assert found[2] == StatementLine(4, found[2].date, Decimal("3.00"), "ok")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        (b"a,b\n1,2\n", "no column 'date'"),
        (b"date,amount,description\n\xff\xfe\n", "not utf-8"),
    ],
)
def test_files_that_cannot_be_read_are_refused_whole(body: bytes, message: str) -> None:
    with pytest.raises(MalformedFileError, match=message):
        list(read_csv(io.BytesIO(body), CsvOptions()))


def test_an_ofx_file_in_xml_form_reads_the_same() -> None:
    xml = b"""<?xml version="1.0"?><?OFX OFXHEADER="200"?><OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>
<CURDEF>EUR</CURDEF><BANKTRANLIST><STMTTRN><TRNTYPE>DEBIT</TRNTYPE><DTPOSTED>20261101</DTPOSTED>
<TRNAMT>-9.99</TRNAMT><FITID>X1</FITID><NAME>Shop &amp; Co</NAME></STMTTRN></BANKTRANLIST>
</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>"""
    (line,) = list(read_ofx(io.BytesIO(xml)))
    assert isinstance(line, StatementLine)
    assert (line.amount, line.merchant, line.external_id, line.line) == (
        Decimal("-9.99"),
        "Shop & Co",
        "X1",
        2,
    )


@pytest.mark.parametrize(
    "bad",
    [
        {"decimal": ";"},
        {"thousands": "x"},
        {"decimal": ",", "thousands": ","},
        {"sign": "split"},
        {"date_format": "%H"},
        {"encoding": "utf-16"},
        {"delimiter": "x"},
    ],
)
def test_options_are_checked(bad: dict[str, str]) -> None:
    with pytest.raises(InvalidInputError):
        CsvOptions(**bad).check()  # type: ignore[arg-type]
