"""The household list as a lazy Qt model: pages fetched by keyset from SQL, search as you type."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from povdesk.core.codes import code_list
from povdesk.core.model import STATUS_LABELS
from povdesk.core.regions import lookup
from povdesk.ops.listing import VOIDED, ListFilters, count_found, find_households
from povdesk.ui.signals import emit

PAGE = 200
NAME_COLUMN = 1
STATUS_COLUMN = 3

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class ListRow:
    household_id: str
    household_no: str
    name: str
    village_code: str
    status: str
    attribute: str | None
    main_cause: str | None
    member_count: int | None
    found_member: str = ""  # a search: the member whose name or ID number matched


class HouseholdListModel(QAbstractTableModel):
    """Keeps only the rows fetched so far; Qt asks for more as the view scrolls (fetchMore)."""

    HEADERS = (
        QT_TRANSLATE_NOOP("HouseholdListModel", "Household no."),
        QT_TRANSLATE_NOOP("HouseholdListModel", "Name"),
        QT_TRANSLATE_NOOP("HouseholdListModel", "Village"),
        QT_TRANSLATE_NOOP("HouseholdListModel", "Status"),
        QT_TRANSLATE_NOOP("HouseholdListModel", "Attribute"),
        QT_TRANSLATE_NOOP("HouseholdListModel", "Main cause"),
        QT_TRANSLATE_NOOP("HouseholdListModel", "People"),
    )

    def __init__(self, ws: Any, lang: str = "zh", parent: Any = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.lang = lang
        self._rows: list[ListRow] = []
        self._cursor: tuple[Any, ...] | None = None
        self._exhausted = False
        self._filters: dict[str, str | None] = {"village_prefix": None, "status": None, "attribute": None,
                                                 "main_cause": None}
        self._query = ""
        self._only: AbstractSet[str] | None = None
        self._village_names: dict[str, str] = {}
        self._found: int | None = None
        self._generation = 0  # counts refreshes: a count made for an older one is dropped
        self._unfinished: set[str] = set()  # households saved with errors: "unfinished" until corrected

    # ------------------------------------------------------------------ filters and search
    def set_filters(self, **filters: str | None) -> None:
        self._filters.update(filters)
        self.refresh()

    def set_only(self, ids: AbstractSet[str] | None) -> None:
        """Restrict the list to these households (problem and step-due filters), or None for all."""
        self._only = ids
        self.refresh()

    def set_query(self, query: str) -> None:
        self._query = query.strip()
        self.refresh()

    def set_unfinished(self, ids: AbstractSet[str]) -> None:
        """Households with errors (the last check, and saves since): their status says unfinished."""
        self._unfinished = set(ids)
        if self._rows:
            emit(self.dataChanged, self.index(0, STATUS_COLUMN), self.index(len(self._rows) - 1, STATUS_COLUMN))

    def mark_unfinished(self, household_id: str, unfinished: bool) -> None:
        (self._unfinished.add if unfinished else self._unfinished.discard)(household_id)
        row = self.row_of(household_id)
        if row >= 0:
            emit(self.dataChanged, self.index(row, STATUS_COLUMN), self.index(row, STATUS_COLUMN))

    def is_unfinished(self, household_id: str) -> bool:
        return household_id in self._unfinished

    @property
    def query(self) -> str:
        return self._query

    def refresh(self) -> None:
        self.beginResetModel()
        self._rows, self._cursor, self._exhausted = [], None, False
        self._found = None
        self._generation += 1
        if self._only is not None:
            # A subset found by a scan: walk the SQL pages once and keep its members (a few
            # hundred keyset pages at county size, well under a second).
            while not self._exhausted:
                self._rows.extend(self._next_page())
            self._rows = [r for r in self._rows if r.household_id in self._only]
        else:
            self._rows.extend(self._next_page())
        self.endResetModel()

    def found(self) -> int:
        """How many households the list holds over all its pages (search or filters alike)."""
        if self._exhausted:
            return len(self._rows)
        if self._found is None:
            self._found = count_found(self.ws, self._query, self._list_filters())
        return self._found

    def found_if_known(self) -> int | None:
        """found() when it needs no query (every page read, or counted already), else None."""
        if self._exhausted:
            return len(self._rows)
        return self._found

    def count_request(self) -> tuple[int, str, ListFilters]:
        """What found() would count, for a count off the GUI thread: (generation, query, filters)."""
        return self._generation, self._query, self._list_filters()

    def set_found(self, generation: int, found: int) -> bool:
        """A count made elsewhere for count_request()'s generation; False when the rows changed since."""
        if generation != self._generation:
            return False
        self._found = found
        return True

    def _list_filters(self) -> ListFilters:
        return ListFilters(**self._filters)

    def _next_page(self) -> list[ListRow]:
        """The next page of rows, by keyset: search results or the plain list, under the filters."""
        if self._query:
            found = find_households(self.ws, self._query, self._list_filters(), after=self._cursor,
                                    limit=PAGE)
            page, members = [f.row for f in found], [f.found_member or "" for f in found]
        else:
            page = self.ws.list_households(self._cursor, PAGE, **self._filters)
            members = [""] * len(page)
        rows = [ListRow(r.id, r.household_no, r.head_name, r.village_code, r.status, r.attribute, r.main_cause,
                        r.member_count, found) for r, found in zip(page, members, strict=True)]
        if page:
            self._cursor = page[-1].cursor
        if len(rows) < PAGE:
            self._exhausted = True
        return rows

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008 - Qt's signature
        return not parent.isValid() and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._exhausted:
            return
        start = len(self._rows)
        rows = self._next_page()
        if not rows:
            return
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self._rows.extend(rows)
        self.endInsertRows()

    # ------------------------------------------------------------------ the model
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.tr(str(self.HEADERS[section]))
        return None

    def row(self, index: int) -> ListRow:
        return self._rows[index]

    def row_of(self, household_id: str) -> int:
        for i, r in enumerate(self._rows):
            if r.household_id == household_id:
                return i
        return -1

    def _village(self, code: str) -> str:
        if code not in self._village_names:
            region = lookup(code)
            self._village_names[code] = region.name if region else code
        return self._village_names[code]

    def status_text(self, status: str, mark: str | None = None) -> str:
        """The status column's text: the status, marked unfinished or voided (`mark`)."""
        labels = STATUS_LABELS.get(status)
        text = (labels[1] if self.lang == "en" else labels[0]) if labels else ""
        if mark == "voided":
            return self.tr("{status} · voided").format(status=text)
        if mark == "unfinished":
            return self.tr("{status} · unfinished").format(status=text)
        return text

    def name_text(self, head: str, found: str | None) -> str:
        """The name column's text: the head, and the person a search found beside it."""
        if found and found != head:
            return self.tr("{head} ({found})").format(head=head, found=found)
        return head

    def status_texts(self) -> list[str]:
        """Every text the status column can show (its width is set for the longest)."""
        return [self.status_text(st, mark) for st in STATUS_LABELS for mark in (None, "unfinished", "voided")]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if role == Qt.ItemDataRole.UserRole and index.isValid():
                return self._rows[index.row()].household_id
            return None
        r = self._rows[index.row()]
        col = index.column()
        if col == 0:
            return r.household_no
        if col == NAME_COLUMN:
            return self.name_text(r.name, r.found_member)
        if col == 2:
            return self._village(r.village_code)
        if col == STATUS_COLUMN:
            if self._filters.get("status") == VOIDED:  # only the voided filter lists voided households
                return self.status_text(r.status, "voided")
            return self.status_text(r.status, "unfinished" if r.household_id in self._unfinished else None)
        if col == 4:
            return code_list("hh_attribute").label(r.attribute, self.lang) if r.attribute else ""
        if col == 5:
            return code_list("poverty_cause").label(r.main_cause, self.lang) if r.main_cause else ""
        if col == 6:
            return r.member_count if r.member_count is not None else ""
        return None
