from __future__ import annotations

import pandas as pd

from crm_migration.destinations.base import FieldSchema
from crm_migration.pipeline.compare import field_equal


def test_canonical_equality_by_kind():
    dt = FieldSchema("d", "datetime")
    assert field_equal(pd.Series(["2024-03-05T10:22:00Z"]), pd.Series(["2024-03-05T10:22:00Z"]), dt).all()
    assert not field_equal(pd.Series(["2024-03-05T10:22:00Z"]), pd.Series(["2024-03-05T10:23:00Z"]), dt).any()
    num = FieldSchema("n", "decimal")
    assert field_equal(pd.Series([12.5, None]), pd.Series([12.500000000001, None]), num).all()
    assert not field_equal(pd.Series([12.5]), pd.Series([12.6]), num).any()
    text = FieldSchema("t", "text")
    assert field_equal(pd.Series(["", None, "Ångström"]), pd.Series([None, "", "Ångström"]), text).all()
    assert not field_equal(pd.Series(["a"]), pd.Series([None]), text).any()
