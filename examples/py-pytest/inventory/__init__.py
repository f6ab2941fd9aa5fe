"""A tiny stock ledger, the fixture factory's pytest tests run."""


def restock(levels, item, count):
    if count <= 0:
        raise ValueError("count must be positive")
    out = dict(levels)
    out[item] = out.get(item, 0) + count
    return out


def take(levels, item, count):
    have = levels.get(item, 0)
    if count > have:
        raise ValueError(f"only {have} {item} left")
    out = dict(levels)
    out[item] = have - count
    return out
