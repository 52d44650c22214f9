"""How figures are written in the tables."""


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if digits == 0 or abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) < 10 and digits == 1 and v != 0:
            return f"{v:.2f}"
        return f"{v:,.{digits}f}"
    return str(v)


def f2(v):
    return "-" if v is None else f"{v:.2f}"


def kilo(v):
    return f"{v / 1000:.1f}k"


def fmt_ratio(x):
    return "-" if x is None else f"{x:.2f}"


def ms(v):
    return "-" if v is None else f"{fmt(v, 1)} ms"


def fmt_s(v):
    return "-" if v is None else f"{v:.2f} s"
