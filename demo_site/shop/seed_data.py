"""The demo catalogue: fixed data, so that every seeded database (and every test) looks the same."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import NamedTuple

AUTHORS: dict[str, str] = {
    "Ada Lindqvist": "Writes quiet mysteries set on Baltic islands.",
    "Tomás Okafor": "Former physicist; explains hard science with kitchen-table experiments.",
    "Mei Nakamura": "Poet and translator, moving between Kyoto and Lisbon.",
    "Rafael Dumont": "Historian of trade routes, ports and the people who worked them.",
    "Ingrid Salo": "Travel writer who prefers slow trains and long walks.",
    "Kwame Mensah": "Novelist of big families and small towns.",
    "Lucía Herrera": "Science-fiction author with a soft spot for botany.",
    "Oskar Brandt": "Crime writer and retired detective inspector.",
}

TAGS: tuple[str, ...] = ("fiction", "history", "mystery", "poetry", "science", "travel")


class BookRow(NamedTuple):
    title: str
    author: str
    published: datetime.date
    price: Decimal
    tags: tuple[str, ...]


def _book(title: str, author: str, published: str, price: str, *tags: str) -> BookRow:
    return BookRow(title, author, datetime.date.fromisoformat(published), Decimal(price), tags)


BOOKS: tuple[BookRow, ...] = (
    _book("The Lighthouse Ledger", "Ada Lindqvist", "2011-04-12", "14.99", "fiction", "mystery"),
    _book("Salt and Silence", "Ada Lindqvist", "2015-09-03", "16.50", "fiction", "mystery"),
    _book("Low Tide at Fårö", "Ada Lindqvist", "2020-06-21", "18.00", "fiction", "mystery", "travel"),
    _book("Physics on a Saucepan", "Tomás Okafor", "2013-02-08", "22.00", "science"),
    _book("The Patient Electron", "Tomás Okafor", "2018-11-30", "24.95", "science"),
    _book("Paper Cranes, Iron Bridges", "Mei Nakamura", "2009-03-17", "12.00", "poetry"),
    _book("Rain Over Alfama", "Mei Nakamura", "2016-10-01", "13.50", "poetry", "travel"),
    _book("Harbours of the Hanse", "Rafael Dumont", "2007-05-14", "29.00", "history"),
    _book("Pepper, Silver and Sail", "Rafael Dumont", "2012-08-25", "31.50", "history", "travel"),
    _book("The Dockworkers' Republic", "Rafael Dumont", "2019-01-19", "27.00", "history"),
    _book("Slow Trains North", "Ingrid Salo", "2014-07-07", "19.99", "travel"),
    _book("Walking the Amber Road", "Ingrid Salo", "2021-04-02", "21.00", "travel", "history"),
    _book("A House on Cocoa Street", "Kwame Mensah", "2010-12-11", "17.25", "fiction"),
    _book("The Seventh Cousin", "Kwame Mensah", "2017-03-29", "18.75", "fiction"),
    _book("Market Day", "Kwame Mensah", "2022-09-15", "20.00", "fiction"),
    _book("Greenhouse Orbit", "Lucía Herrera", "2015-02-14", "15.99", "fiction", "science"),
    _book("The Fern Protocol", "Lucía Herrera", "2019-06-06", "16.99", "fiction", "science"),
    _book("Seeds for Europa", "Lucía Herrera", "2023-01-27", "19.50", "fiction", "science"),
    _book("Case Notes in Winter", "Oskar Brandt", "2008-11-02", "14.00", "fiction", "mystery"),
    _book("The Inspector's Last Week", "Oskar Brandt", "2016-05-18", "15.50", "fiction", "mystery"),
)

REVIEWERS: tuple[str, ...] = (
    "alice",
    "bruno",
    "chiara",
    "dmitri",
    "esther",
    "farid",
    "greta",
    "hiro",
    "imani",
    "jonas",
)

REVIEW_TEXTS: dict[int, str] = {
    1: "Could not finish it.",
    2: "A few good pages, mostly slow.",
    3: "Solid, if unsurprising.",
    4: "Really enjoyed it; recommended.",
    5: "Wonderful. Read it twice.",
}

REVIEWS_PER_BOOK = 3


class ReviewRow(NamedTuple):
    book: str
    reviewer: str
    rating: int
    text: str


def _reviews() -> tuple[ReviewRow, ...]:
    rows = []
    for i, book in enumerate(BOOKS):
        for j in range(REVIEWS_PER_BOOK):
            reviewer = REVIEWERS[(i * REVIEWS_PER_BOOK + j) % len(REVIEWERS)]
            rating = 1 + (i * 2 + j * 3 + 2) % 5
            rows.append(ReviewRow(book.title, reviewer, rating, REVIEW_TEXTS[rating]))
    return tuple(rows)


REVIEWS: tuple[ReviewRow, ...] = _reviews()
