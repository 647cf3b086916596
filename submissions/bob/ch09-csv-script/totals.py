"""Sum the sales in /app/input.csv per item into /data/output.csv."""
import csv

totals = {}
with open("/app/input.csv", newline="") as f:
    for row in csv.DictReader(f):
        totals[row["item"]] = totals.get(row["item"], 0) + int(row["qty"]) * float(row["price"])

with open("/data/output.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["item", "total"])
    for item in sorted(totals):
        w.writerow([item, f"{totals[item]:.2f}"])

print(f"wrote {len(totals)} items to /data/output.csv")
