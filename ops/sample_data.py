"""A realistic year of a household's transactions, generated from a seed.

Descriptions look like bank statement lines (card payments with store numbers and towns,
direct debits with references, transfers), merchants come in several spellings, and some
merchants sell in more than one category (a supermarket's pharmacy, an online shop's
books and electronics), so a categoriser cannot be perfect on it. Used to measure the
learned categoriser (``fiscaflow categoriser evaluate``) and as realistic test data.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

TOWNS = ("LONDON", "LEEDS", "BRISTOL", "YORK", "MANCHESTER", "OXFORD", "BATH")

# category -> (merchant spellings, amount range, visits per month, kind)
PROFILE: dict[str, tuple[tuple[str, ...], tuple[int, int], float, str]] = {
    "groceries": (
        (
            "TESCO STORES",
            "SAINSBURYS S/MKTS",
            "LIDL GB",
            "ALDI STORES",
            "M&S SIMPLY FOOD",
            "WAITROSE",
            "CO-OP GROUP FOOD",
        ),
        (8, 140),
        12,
        "expense",
    ),
    "restaurants": (
        ("PIZZA EXPRESS", "NANDOS", "WAGAMAMA", "DISHOOM", "THE RED LION PUB", "FRANCO MANCA"),
        (18, 95),
        3,
        "expense",
    ),
    "coffee": (("PRET A MANGER", "COSTA COFFEE", "STARBUCKS", "CAFFE NERO"), (2, 9), 10, "expense"),
    "takeaway": (("DELIVEROO", "JUST EAT", "UBER EATS"), (14, 45), 2.5, "expense"),
    "fuel": (("SHELL", "BP", "ESSO", "TESCO PFS"), (35, 90), 2.5, "expense"),
    "public-transport": (("TFL TRAVEL CH", "TRAINLINE", "NATIONAL RAIL", "FIRST BUS"), (2, 60), 8, "expense"),
    "taxi": (("UBER TRIP", "BOLT.EU", "ADDISON LEE"), (7, 40), 1.5, "expense"),
    "parking": (("NCP CAR PARK", "RINGGO", "JUSTPARK"), (2, 18), 2, "expense"),
    "pharmacy": (("BOOTS", "SUPERDRUG", "LLOYDS PHARMACY"), (3, 35), 1.5, "expense"),
    "fitness": (("PUREGYM", "DECATHLON"), (20, 60), 1, "expense"),
    "streaming": (("NETFLIX.COM", "SPOTIFY", "DISNEY PLUS", "APPLE.COM/BILL"), (5, 16), 3, "expense"),
    "entertainment": (
        ("ODEON CINEMAS", "TICKETMASTER", "VUE CINEMA", "STEAM GAMES"),
        (9, 80),
        1.5,
        "expense",
    ),
    "books": (("WATERSTONES", "AMAZON MKTPLACE", "KINDLE SVCS"), (5, 30), 1, "expense"),
    "electronics": (("CURRYS", "AMAZON MKTPLACE", "APPLE STORE", "ARGOS"), (15, 400), 0.5, "expense"),
    "clothing": (("UNIQLO", "ZARA", "H&M", "MARKS&SPENCER", "NEXT RETAIL"), (12, 120), 1.5, "expense"),
    "household-goods": (("IKEA", "ARGOS", "AMAZON MKTPLACE", "WILKO", "B&Q"), (5, 150), 1.5, "expense"),
    "utilities": (("OCTOPUS ENERGY", "THAMES WATER", "BRITISH GAS"), (30, 160), 2, "expense"),
    "phone": (("VODAFONE", "EE LIMITED", "GIFFGAFF"), (10, 45), 1, "expense"),
    "internet": (("BT GROUP", "VIRGIN MEDIA"), (30, 55), 1, "expense"),
    "insurance": (("AVIVA", "DIRECT LINE", "ADMIRAL INS"), (15, 90), 1, "expense"),
    "rent": (("FOXTONS LETTINGS",), (1350, 1350), 1, "expense"),
    "childcare": (("BRIGHT HORIZONS", "LITTLE ACORNS NURSERY"), (250, 600), 1, "expense"),
    "pets": (("PETS AT HOME", "VETS4PETS"), (8, 120), 0.7, "expense"),
    "gifts": (
        ("CLINTON CARDS", "AMAZON MKTPLACE", "JOHN LEWIS", "NOT ON THE HIGH ST"),
        (10, 80),
        0.8,
        "expense",
    ),
    "charity": (("OXFAM", "BRITISH RED CROSS", "JUSTGIVING"), (5, 30), 0.7, "expense"),
    "fees": (("MONTHLY ACCOUNT FEE", "OVERDRAFT INTEREST", "NON-STERLING FEE"), (1, 12), 0.6, "expense"),
    "salary": (("ACME LTD PAYROLL", "NORTHWIND HR SALARY"), (2400, 3100), 2, "income"),
    "refunds": (("AMAZON REFUND", "ZARA REFUND", "TRAINLINE REFUND"), (5, 80), 0.6, "income"),
    "interest": (("INTEREST PAID", "GROSS INTEREST"), (1, 9), 1, "income"),
}

FORMS = {
    "card": ("CARD PAYMENT TO {m} {n} {t}", "{m} {t} GB", "POS {m} {n}", "{m}*{n} {t}"),
    "debit": ("DD {m} REF {n}", "DIRECT DEBIT {m} {n}", "{m} DD"),
    "credit": ("BGC {m} {n}", "FASTER PAYMENT {m} REF {n}", "{m}"),
}
DEBITS = {"streaming", "utilities", "phone", "internet", "insurance", "rent", "childcare", "fitness"}


@dataclass(frozen=True, slots=True)
class SampleTransaction:
    date: dt.date
    kind: str
    amount: Decimal
    description: str
    merchant: str
    category: str


def household_year(seed: int = 7, start: dt.date = dt.date(2025, 1, 1)) -> list[SampleTransaction]:
    """About 800 transactions of one household over 365 days, in date order."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    out = []
    for day in range(365):
        on = start + dt.timedelta(days=day)
        for category, (merchants, (low, high), per_month, kind) in PROFILE.items():
            if rng.random() >= per_month / 30.4:
                continue
            merchant = rng.choice(merchants)
            form = "credit" if kind == "income" else "debit" if category in DEBITS else "card"
            description = rng.choice(FORMS[form]).format(
                m=merchant, n=rng.randint(100, 99999), t=rng.choice(TOWNS)
            )
            if rng.random() < 0.15:  # statements abbreviate and shout inconsistently
                description = description.title()
            cents = rng.randint(low * 100, high * 100)
            spelled = merchant if rng.random() < 0.8 else merchant.title()
            filed = category
            if rng.random() < 0.04:  # people file the odd one inconsistently
                filed = rng.choice([c for c, p in PROFILE.items() if p[3] == kind and c != category])
            out.append(SampleTransaction(on, kind, Decimal(cents) / 100, description, spelled, filed))
    return out
