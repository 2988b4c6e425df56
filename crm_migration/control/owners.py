"""The owner report: every source owner, the destination user matched by e-mail, and what was used."""

from __future__ import annotations

import pandas as pd

from crm_migration.mapping.loader import Pair
from crm_migration.pipeline.storage import RunStore


def owner_report(pair: Pair, store: RunStore, users: pd.DataFrame) -> pd.DataFrame:
    """One row per source owner e-mail: records owned, matched user, active or not, and the resolution."""
    counts = []
    for name, m in pair.objects.items():
        rule = m.fields.get(m.owner_field) if m.owner_field else None
        if rule is None:
            continue
        norm = store.read(name, "normalized")
        emails = norm[rule.owner].astype("string").str.lower() if rule.owner in norm else pd.Series(dtype="string")
        counts.append(emails.fillna("(blank)").value_counts().rename_axis("source_owner").reset_index(name=name))
    if not counts:
        return pd.DataFrame(columns=["source_owner", "records", "destination_user", "active", "resolution"])
    table = counts[0]
    for c in counts[1:]:
        table = table.merge(c, on="source_owner", how="outer")
    objects = [c for c in table.columns if c != "source_owner"]
    table[objects] = table[objects].fillna(0).astype(int)
    table["records"] = table[objects].sum(axis=1)
    by_email = users.assign(email=users["email"].str.lower()).drop_duplicates("email").set_index("email")
    table["destination_user"] = table["source_owner"].map(by_email["id"]).astype("string")
    table["active"] = table["source_owner"].map(by_email["active"]).astype("boolean")
    fallback = (pair.settings.owners.fallback_email or "").lower()
    fallback_ok = bool(by_email["active"].get(fallback, False)) if fallback else False
    can_fall_back = pair.settings.owners.on_unresolved == "fallback" and fallback_ok
    table["resolution"] = "user"
    unmatched = ~table["active"].fillna(False).astype(bool)
    table.loc[unmatched, "resolution"] = f"fallback {fallback}" if can_fall_back else "UNRESOLVED"
    return table[["source_owner", "records", "destination_user", "active", "resolution", *objects]].sort_values(
        ["resolution", "records"], ascending=[True, False]).reset_index(drop=True)
