"""Stock page (AppTest) on a temporary SQLite file database: data-editor edit saved as a ledger
adjustment, stale-edit refusal naming the row, bad values refused, reorder alerts, ledger view
and CSV export; a pending grid edit never outlives its view (zone switch, Reload, save)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from streamlit.testing.v1 import AppTest

from db.engine import session_scope
from domain.procurement.models import MaterialStock, StockMovement
from domain.procurement.stock import adjust_stock, receive_stock
from tests.domain.test_stock import ProcWorld, build_proc_world
from tests.factories import make_zone

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "stock.py")


@pytest.fixture
def pw(app_engine: Engine) -> ProcWorld:
    with session_scope(app_engine) as s:
        return build_proc_world(s)


def _open(pw: ProcWorld, actor=None) -> AppTest:  # type: ignore[no-untyped-def]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["actor"] = actor or pw.buyer
    return at.run()


def _row_index(at: AppTest, sku: str) -> int:
    table = at.data_editor[0].value
    return int(list(table["SKU"]).index(sku))


def _grid(at: AppTest) -> str:
    """The key of the data editor shown (what the browser sends its cell edits under)."""
    key = at.data_editor[0].key
    assert key is not None
    return key


def _type(at: AppTest, key: str, edits: dict[int, dict]) -> None:
    """The browser's pending cell edits of the grid ``key`` (sent with the next run)."""
    at.session_state[key] = {"edited_rows": edits, "added_rows": [], "deleted_rows": []}


def _save(at: AppTest, reason: str) -> AppTest:
    at.text_input(key="stock_reason").set_value(reason)
    return at.button(key="stock_save").click().run()


def _edit(at: AppTest, edits: dict[int, dict], reason: str) -> AppTest:
    _type(at, _grid(at), edits)
    return _save(at, reason)


def _table(at: AppTest, column: str, without: str | None = None):  # type: ignore[no-untyped-def]
    for df in at.dataframe:
        value = df.value
        if column in value.columns and (without is None or without not in value.columns):
            return value
    raise AssertionError(f"no table with {column!r}")


def _stock(engine: Engine, stock_id) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with session_scope(engine, readonly=True) as s:
        row = s.get(MaterialStock, stock_id)
        assert row is not None
        moves = s.execute(
            select(StockMovement.kind, StockMovement.quantity_delta, StockMovement.reason).where(
                StockMovement.material_stock_id == stock_id, StockMovement.kind == "adjustment"
            )
        ).all()
        return row.quantity_available, row.reorder_level, len(moves)


def test_renders_zone_stock(app_engine: Engine, pw: ProcWorld) -> None:
    at = _open(pw)
    assert not at.exception
    assert [t.value for t in at.title] == ["Stock"]
    table = at.data_editor[0].value
    assert set(table["SKU"]) == {"CHG-72", "CBL-6MM", "ELE-MCB-32A", "MNT-WALL"}
    assert "id" not in table.columns
    assert at.download_button(key="stock_export") is not None


def test_data_editor_edit_is_saved_as_adjustment(app_engine: Engine, pw: ProcWorld) -> None:
    at = _open(pw)
    i = _row_index(at, "CBL-6MM")
    at = _edit(at, {i: {"Available": 88, "Reorder level": 25}}, "cycle count")
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("CBL-6MM" in s.value for s in at.success)
    assert _stock(app_engine, pw.stock["CBL-6MM"]) == (88, 25, 1)
    with session_scope(app_engine, readonly=True) as s:
        mv = s.execute(
            select(StockMovement.quantity_delta, StockMovement.reason).where(
                StockMovement.kind == "adjustment"
            )
        ).one()
    assert tuple(mv) == (-12, "cycle count")
    # the page shows the new count after the save
    table = at.data_editor[0].value
    assert int(table.loc[table["SKU"] == "CBL-6MM", "Available"].iloc[0]) == 88


def test_stale_edit_is_refused_and_names_the_row(app_engine: Engine, pw: ProcWorld) -> None:
    at = _open(pw)
    i = _row_index(at, "ELE-MCB-32A")
    with session_scope(app_engine) as s:  # someone else recounts the row meanwhile
        adjust_stock(
            s,
            pw.w.admin,
            stock_id=pw.stock["ELE-MCB-32A"],
            expected_version=2,
            quantity_available=7,
            reason="other user",
        )
    at = _edit(at, {i: {"Available": 3}}, "my count")
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "ELE-MCB-32A" in errors[0] and "reload" in errors[0]
    assert _stock(app_engine, pw.stock["ELE-MCB-32A"]) == (7, 5, 1)  # the other user's value
    # after Reload the edit goes through
    at = at.button(key="stock_reload").click().run()
    at = _edit(at, {_row_index(at, "ELE-MCB-32A"): {"Available": 3}}, "my count")
    assert not at.error
    assert _stock(app_engine, pw.stock["ELE-MCB-32A"]) == (3, 5, 2)


def test_bad_values_and_missing_reason_are_refused(app_engine: Engine, pw: ProcWorld) -> None:
    at = _open(pw)
    i = _row_index(at, "MNT-WALL")
    at = _edit(at, {i: {"Available": 2.5}}, "count")
    assert any("MNT-WALL quantity_available" in e.value for e in at.error)
    at = _edit(at, {i: {"Available": 4}}, "  ")
    assert any("reason" in e.value for e in at.error)
    assert _stock(app_engine, pw.stock["MNT-WALL"]) == (10, 5, 0)


def test_reorder_alert_and_ledger(app_engine: Engine, pw: ProcWorld) -> None:
    with session_scope(app_engine) as s:
        adjust_stock(
            s,
            pw.buyer,
            stock_id=pw.stock["CHG-72"],
            expected_version=2,
            quantity_available=2,
            reason="damaged",
        )
    at = _open(pw)
    alerts = _table(at, "Suggested order", without="Category")
    assert list(alerts["SKU"]) == ["CHG-72"]
    assert int(alerts["Suggested order"].iloc[0]) == 8
    at.selectbox(key="stock_ledger_sku").set_value("CHG-72").run()
    ledger = _table(at, "Kind")
    assert list(ledger["Kind"]) == ["adjustment", "receipt"]
    assert list(ledger["Balance"]) == [2, 5]


def test_read_only_for_roles_without_adjust(app_engine: Engine, pw: ProcWorld) -> None:
    at = _open(pw, pw.w.ops)
    assert not at.exception
    assert len(at.data_editor) == 0
    assert len(at.dataframe) >= 1
    at = _open(pw, pw.w.tata_viewer)
    assert any("may not see stock" in e.value for e in at.error)


def _second_zone(engine: Engine, pw: ProcWorld) -> dict[str, object]:
    """Pune: the same four materials (so the same grid shape) with other counts."""
    with session_scope(engine) as s:
        pune = make_zone(s, code="PUN", name="Pune", state="MAHARASHTRA", districts=("PUNE",))
        ids = {"CHG-72": pw.charger_id, "CBL-6MM": pw.cable_id}
        ids |= {"ELE-MCB-32A": pw.mcb_id, "MNT-WALL": pw.bracket_id}
        stock = {}
        for sku, qty in {"CHG-72": 3, "CBL-6MM": 40, "ELE-MCB-32A": 6, "MNT-WALL": 8}.items():
            res = receive_stock(
                s, pw.buyer, material_id=ids[sku], zone_id=pune.id, quantity=qty, reason="open"
            )
            stock[sku] = res.material_stock_id
        return stock


def test_an_edit_typed_in_one_zone_is_never_saved_into_another(
    app_engine: Engine, pw: ProcWorld
) -> None:
    """Streamlit keeps a keyed fixed-size grid's pending edits in the browser across value
    changes: an edit typed into Bengaluru's grid, then a switch to Pune, must not be applied
    to Pune's row at the same position when the user saves there."""
    pune = _second_zone(app_engine, pw)
    at = _open(pw)
    assert at.selectbox(key="stock_zone").value == "Bengaluru (BLR)"
    blr_grid = _grid(at)
    _type(at, blr_grid, {_row_index(at, "CBL-6MM"): {"Available": 77}})  # typed, not saved
    at.selectbox(key="stock_zone").set_value("Pune (PUN)").run()
    assert not at.exception
    assert _grid(at) != blr_grid  # a new grid: it starts without pending edits
    _type(at, blr_grid, {_row_index(at, "CBL-6MM"): {"Available": 77}})  # the browser resends
    at = _save(at, "count")
    assert not at.error, [e.value for e in at.error]
    assert [i.value for i in at.info] == ["Nothing changed."]
    assert _stock(app_engine, pune["CBL-6MM"]) == (40, 5, 0)
    assert _stock(app_engine, pw.stock["CBL-6MM"]) == (100, 5, 0)
    # an edit typed into Pune's own grid is saved, to Pune's row
    at = _edit(at, {_row_index(at, "CBL-6MM"): {"Available": 39}}, "count")
    assert any("Saved 1 row(s): CBL-6MM" in m.value for m in at.success)
    assert _stock(app_engine, pune["CBL-6MM"]) == (39, 5, 1)
    assert _stock(app_engine, pw.stock["CBL-6MM"]) == (100, 5, 0)


def test_reload_drops_a_pending_edit_instead_of_saving_it_over_a_newer_count(
    app_engine: Engine, pw: ProcWorld
) -> None:
    """A count typed on a stale view, then Reload: the pending edit must not be saved against
    the reloaded (newer) version, which would bypass the stale-edit refusal."""
    at = _open(pw)
    old_grid = _grid(at)
    i = _row_index(at, "ELE-MCB-32A")
    _type(at, old_grid, {i: {"Available": 3}})
    with session_scope(app_engine) as s:  # someone else recounts the row meanwhile
        adjust_stock(
            s,
            pw.w.admin,
            stock_id=pw.stock["ELE-MCB-32A"],
            expected_version=2,
            quantity_available=7,
            reason="other user",
        )
    at = at.button(key="stock_reload").click().run()
    assert _grid(at) != old_grid
    _type(at, old_grid, {i: {"Available": 3}})  # the browser resends the old grid's edit
    at = _save(at, "my count")
    assert [m.value for m in at.info] == ["Nothing changed."]
    assert _stock(app_engine, pw.stock["ELE-MCB-32A"]) == (7, 5, 1)  # the other user's count


def test_a_save_starts_a_fresh_grid(app_engine: Engine, pw: ProcWorld) -> None:
    """After a save the grid is new: the saved edit is not sent again with the next save (it
    would overwrite a later change by someone else), and each save writes only its own edit."""
    at = _open(pw)
    first_grid = _grid(at)
    i = _row_index(at, "MNT-WALL")
    at = _edit(at, {i: {"Available": 9}}, "first")
    assert any("Saved 1 row(s): MNT-WALL" in m.value for m in at.success)
    assert _grid(at) != first_grid
    with session_scope(app_engine) as s:  # someone else changes the row after the save
        row = s.get(MaterialStock, pw.stock["MNT-WALL"])
        assert row is not None
        adjust_stock(
            s,
            pw.w.admin,
            stock_id=row.id,
            expected_version=row.version,
            quantity_available=12,
            reason="other user",
        )
    at = at.button(key="stock_reload").click().run()
    _type(at, first_grid, {i: {"Available": 9}})  # the first save's edit, resent
    at = _edit(at, {_row_index(at, "CBL-6MM"): {"Available": 99}}, "second")
    assert any(m.value == "Saved 1 row(s): CBL-6MM" for m in at.success)
    assert _stock(app_engine, pw.stock["MNT-WALL"]) == (12, 5, 2)
    assert _stock(app_engine, pw.stock["CBL-6MM"]) == (99, 5, 1)
