"""Tables that never cut what an operator copies: ids and timestamps stay whole.

Rich squeezes a table to the terminal and truncates cells with an ellipsis, so a narrow
window turned ``tokens list`` into ids that ``tokens revoke`` refused. Columns marked
``whole`` do not wrap; a table whose whole columns do not fit is printed at their natural width
(the terminal wraps the lines) rather than cut.
"""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

__all__ = ["new_table", "print_table"]

_UNBOUNDED = 100_000


def new_table(*headers: str, whole: tuple[str, ...] = (), **options: object) -> Table:
    """A rich Table whose columns named in ``whole`` (ids, timestamps) are never wrapped or cut."""
    table = Table(*headers, **options)  # type: ignore[arg-type]
    for column in table.columns:
        if column.header in whole:
            column.no_wrap = True
            column.overflow = "ignore"
    return table


def print_table(console: Console, table: Table) -> None:
    measured = Measurement.get(console, console.options.update(width=_UNBOUNDED), table)
    if measured.minimum <= console.width:
        console.print(table)
        return
    needed = measured.maximum  # wider than the terminal anyway: nothing needs to wrap
    table.width = needed
    console.print(table, width=needed, crop=False, soft_wrap=True)
