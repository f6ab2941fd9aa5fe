import pytest

from inventory import restock, take


def test_restock_adds():
    assert restock({"nut": 1}, "nut", 2) == {"nut": 3}


def test_take_removes():
    assert take({"bolt": 5}, "bolt", 2) == {"bolt": 3}


def test_take_refuses_too_many():
    with pytest.raises(ValueError, match="only 1 bolt left"):
        take({"bolt": 1}, "bolt", 2)
