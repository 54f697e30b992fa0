"""Generate the sample data the example manifests read (deterministic: same seed, same files).

    python plans/generate.py                        # plans/data/*.csv|jsonl, as committed
    python plans/generate.py --scale 10 --out DIR   # ten times as many rows, elsewhere

Other sizes or seeds never replace the committed ``plans/data`` silently: they need ``--out``
(or ``--force`` to overwrite the committed files on purpose).

The data is made up: companies, people, deals, items, customers and invoice lines that refer
to each other through ``*_ref`` columns, which the manifests turn into Zoho lookups.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORDS = (
    "Acme",
    "Apex",
    "Blue",
    "Bright",
    "Cedar",
    "Delta",
    "Echo",
    "Falcon",
    "Granite",
    "Harbor",
    "Iris",
    "Juniper",
    "Kite",
    "Lumen",
    "Maple",
    "Nova",
    "Orbit",
    "Pioneer",
)
SUFFIXES = ("Ltd", "Inc", "GmbH", "LLC", "Co", "Group", "Labs", "Systems")
FIRST = ("Ana", "Ben", "Chloe", "Dev", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jia", "Kofi")
LAST = ("Ng", "Silva", "Okafor", "Berg", "Kowalski", "Haddad", "Tanaka", "Moreau", "Rossi")
INDUSTRIES = ("Technology", "Retail", "Manufacturing", "Healthcare", "Finance", "Education")
CITIES = (("Berlin", "Germany"), ("Austin", "USA"), ("Pune", "India"), ("Lyon", "France"))
STATUSES = ("open", "negotiating", "won", "lost")
UNITS = ("pcs", "box", "kg", "hrs")
GOODS = ("Widget", "Gadget", "Kit", "Cable")


def _rows(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def generate(out: Path, scale: int = 1, seed: int = 7) -> dict[str, int]:
    """Write the sample files into ``out``; return rows written per file."""
    rnd = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    n_acc, n_con, n_deal, n_item, n_cust, n_inv = (x * scale for x in (50, 100, 50, 40, 30, 60))
    start = date(2025, 1, 1)

    accounts = []
    for i in range(1, n_acc + 1):
        name = f"{rnd.choice(WORDS)} {rnd.choice(WORDS)} {rnd.choice(SUFFIXES)} {i}"
        city, country = rnd.choice(CITIES)
        revenue = f"{rnd.randint(10, 9_000) * 1_000:,}.00"
        accounts.append([f"A{i:05d}", name, rnd.choice(INDUSTRIES), revenue, city, country])
    _rows(
        out / "accounts.csv",
        ["account_ref", "name", "industry", "revenue", "city", "country"],
        accounts,
    )

    contacts = []
    for i in range(1, n_con + 1):
        first, last = rnd.choice(FIRST), rnd.choice(LAST)
        dob = start - timedelta(days=rnd.randint(8_000, 20_000))
        acc = rnd.randint(1, n_acc)
        email = f"{first.lower()}.{last.lower()}.{i}@example.com"
        contacts.append([f"C{i:05d}", first, last, email, dob.strftime("%d/%m/%Y"), f"A{acc:05d}"])
    _rows(
        out / "contacts.csv",
        ["contact_ref", "first_name", "last_name", "email", "birthday", "account_ref"],
        contacts,
    )

    deals = []
    for i in range(1, n_deal + 1):
        close = start + timedelta(days=rnd.randint(0, 365))
        con = rnd.randint(1, n_con)
        acc = contacts[con - 1][5]
        amount = f"{rnd.randint(500, 250_000):,}.{rnd.randint(0, 99):02d}"
        deals.append(
            [
                f"D{i:05d}",
                f"Deal {i} - {rnd.choice(WORDS)}",
                rnd.choice(STATUSES),
                amount,
                close.strftime("%d/%m/%Y"),
                acc,
                f"C{con:05d}",
            ]
        )
    _rows(
        out / "deals.csv",
        ["deal_ref", "title", "status", "amount", "close_date", "account_ref", "contact_ref"],
        deals,
    )

    with (out / "items.jsonl").open("w", encoding="utf-8") as fh:
        for i in range(1, n_item + 1):
            rate = round(rnd.uniform(2, 900), 2)
            item = {
                "sku": f"SKU-{i:05d}",
                "name": f"{rnd.choice(WORDS)} {rnd.choice(GOODS)} {i}",
                "price": rate,
                "cost": round(rate * 0.6, 2),
                "stock": rnd.randint(0, 500),
                "unit": rnd.choice(UNITS),
            }
            fh.write(json.dumps(item) + "\n")

    customers = []
    for i in range(1, n_cust + 1):
        name = f"{rnd.choice(WORDS)} {rnd.choice(SUFFIXES)} Customer {i}"
        customers.append([f"K{i:05d}", name, f"billing{i}@example.org", rnd.choice(("USD", "EUR"))])
    _rows(out / "customers.csv", ["customer_ref", "name", "email", "currency"], customers)

    lines = []
    for i in range(1, n_inv + 1):
        issued = start + timedelta(days=rnd.randint(0, 300))
        cust = f"K{rnd.randint(1, n_cust):05d}"
        for _ in range(rnd.randint(1, 3)):
            item = rnd.randint(1, n_item)
            lines.append(
                [
                    f"INV-{i:06d}",
                    cust,
                    issued.strftime("%m/%d/%Y"),
                    (issued + timedelta(days=30)).strftime("%m/%d/%Y"),
                    f"SKU-{item:05d}",
                    rnd.randint(1, 20),
                    f"{rnd.uniform(2, 900):.2f}",
                ]
            )
    _rows(
        out / "invoice_lines.csv",
        [
            "invoice_number",
            "customer_ref",
            "invoice_date",
            "due_date",
            "sku",
            "quantity",
            "unit_price",
        ],
        lines,
    )
    return {
        "accounts.csv": n_acc,
        "contacts.csv": n_con,
        "deals.csv": n_deal,
        "items.jsonl": n_item,
        "customers.csv": n_cust,
        "invoice_lines.csv": len(lines),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder to write [default: plans/data]")
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--force", action="store_true", help="overwrite plans/data anyway")
    args = parser.parse_args()
    committed = (args.scale, args.seed) == (1, 7)
    if args.out is None and not committed and not args.force:
        parser.exit(
            2,
            f"generate.py: --scale {args.scale} --seed {args.seed} would overwrite the committed "
            f"sample data in {HERE / 'data'}; write it elsewhere with --out DIR, or pass "
            "--force to overwrite it\n",
        )
    out = args.out or HERE / "data"
    for name, rows in generate(out, args.scale, args.seed).items():
        print(f"{out / name}: {rows} rows")


if __name__ == "__main__":
    main()
